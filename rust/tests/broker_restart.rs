//! Regression test for the librdkafka use-after-free that aborted the process after a broker
//! restart (`rd_kafka_enq_once_del_source_return: Assertion 'eonce->refcnt > 0' failed`), fixed by
//! rust/vendor/patches/0001-admin-coord-request-keep-eonce-ref-on-error.patch.
//!
//! Self-contained on purpose: it drives AlterConsumerGroupOffsets through `rdkafka::bindings`
//! directly (as the crate's admin client does) and depends on no crate-internal module.
//!
//! It starts its OWN broker (`own_broker`), then, while 20 groups x 2 partitions are committed
//! every 100 ms, kills the broker (mostly SIGKILL, some clean SIGTERM stops) and restarts it on the
//! same port, CYCLES times (the unpatched library aborted in the first; the product-level test,
//! `helper_outage.rs`, runs ten). The process must survive, and after the last restart every
//! group must hold its latest committed offsets, read back by Kafka's own Java client.
//!
//! The admin request timeout is shorter than a broker outage on purpose: the crash needs an admin
//! request that times out while its coordinator request still waits for the broker to come back.
//!
//! Without python3, java or maven (or if the broker process cannot be found) the test FAILS.

mod own_broker;

use std::collections::HashMap;
use std::ffi::{c_void, CStr, CString};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rdkafka::bindings as rdsys;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::TopicPartitionList;

const GROUPS: usize = 20;
const PARTITIONS: i32 = 2;
const TICK: Duration = Duration::from_millis(100);
const CYCLES: usize = 3;
/// Shorter than any outage (kill gap + JVM start), so requests time out while waiting.
const REQUEST_TIMEOUT_MS: i32 = 1500;
/// Bound for every group to hold the latest offsets once the last restart is done.
const SETTLE_BOUND: Duration = Duration::from_secs(60);
/// Offset of partition 1 is the tick plus this, so the two partitions are told apart.
const P1_BASE: i64 = 1_000_000;

/// An admin (producer-type) client whose AlterConsumerGroupOffsets results arrive on a private
/// queue, driven through the raw C API.
struct RawAdmin {
    producer: BaseProducer,
    results: *mut rdsys::rd_kafka_queue_t,
}

impl RawAdmin {
    fn new(bootstrap: &str) -> Self {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("reconnect.backoff.ms", "100")
            .set("reconnect.backoff.max.ms", "1000")
            .create()
            .expect("admin client");
        // SAFETY: the handle is valid for the producer's lifetime; the queue is destroyed first.
        let results = unsafe { rdsys::rd_kafka_queue_new(producer.client().native_ptr()) };
        RawAdmin { producer, results }
    }

    fn send(&self, group: &CStr, topic: &str, tick: i64, opaque: u64) {
        let mut partitions = TopicPartitionList::with_capacity(PARTITIONS as usize);
        for partition in 0..PARTITIONS {
            let offset = tick + P1_BASE * i64::from(partition);
            partitions.add_partition_offset(topic, partition, rdkafka::Offset::Offset(offset)).unwrap();
        }
        let mut errstr = [0 as std::os::raw::c_char; 256];
        // SAFETY: all pointers are valid for the call; librdkafka copies request and options.
        unsafe {
            let rk = self.producer.client().native_ptr();
            let options = rdsys::rd_kafka_AdminOptions_new(
                rk,
                rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS,
            );
            let err = rdsys::rd_kafka_AdminOptions_set_request_timeout(
                options,
                REQUEST_TIMEOUT_MS,
                errstr.as_mut_ptr(),
                errstr.len(),
            );
            assert_eq!(err, rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR);
            rdsys::rd_kafka_AdminOptions_set_opaque(options, opaque as usize as *mut c_void);
            let mut request = rdsys::rd_kafka_AlterConsumerGroupOffsets_new(group.as_ptr(), partitions.ptr());
            rdsys::rd_kafka_AlterConsumerGroupOffsets(rk, &mut request, 1, options, self.results);
            rdsys::rd_kafka_AlterConsumerGroupOffsets_destroy(request);
            rdsys::rd_kafka_AdminOptions_destroy(options);
        }
    }

    /// One finished request: (opaque, whether the group and all its partitions succeeded).
    fn poll(&self) -> Option<(u64, bool)> {
        // SAFETY: the queue is valid; the event is destroyed after reading.
        unsafe {
            let event = rdsys::rd_kafka_queue_poll(self.results, 0);
            if event.is_null() {
                return None;
            }
            assert_eq!(rdsys::rd_kafka_event_type(event), rdsys::RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT);
            let opaque = rdsys::rd_kafka_event_opaque(event) as usize as u64;
            let mut ok = rdsys::rd_kafka_event_error(event) == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR;
            if ok {
                let result = rdsys::rd_kafka_event_AlterConsumerGroupOffsets_result(event);
                let mut count = 0usize;
                let groups = rdsys::rd_kafka_AlterConsumerGroupOffsets_result_groups(result, &mut count);
                ok = count == 1;
                for i in 0..count {
                    let group = *groups.add(i);
                    if !rdsys::rd_kafka_group_result_error(group).is_null() {
                        ok = false;
                        continue;
                    }
                    let list = &*rdsys::rd_kafka_group_result_partitions(group);
                    for p in 0..list.cnt as usize {
                        if (*list.elems.add(p)).err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                            ok = false;
                        }
                    }
                }
            }
            rdsys::rd_kafka_event_destroy(event);
            Some((opaque, ok))
        }
    }

    /// Serves log and error events on the main queue.
    fn serve(&self) {
        self.producer.poll(Duration::ZERO);
    }
}

impl Drop for RawAdmin {
    fn drop(&mut self) {
        // SAFETY: created in `new`, destroyed once, before the producer.
        unsafe { rdsys::rd_kafka_queue_destroy(self.results) };
    }
}

#[test]
fn admin_commits_survive_repeated_broker_kills_and_restarts() {
    let started = Instant::now();
    let broker = own_broker::OwnBroker::start("broker-restart");
    let bootstrap = broker.bootstrap.clone();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let topic = format!("restart-{}", nanos % 1_000_000_000);
    broker.create_topic(&topic, PARTITIONS);
    let groups: Vec<String> = (0..GROUPS).map(|g| format!("{topic}-g{g}")).collect();
    let group_names: Vec<CString> = groups.iter().map(|g| CString::new(g.as_str()).unwrap()).collect();

    let admin = RawAdmin::new(&bootstrap);

    // The kill/restart cycles run beside the commit loop.
    let successes = Arc::new(AtomicU64::new(0));
    let cycles_done = Arc::new(AtomicBool::new(false));
    let broker = Arc::new(broker);
    let cycler = {
        let broker = Arc::clone(&broker);
        let successes = Arc::clone(&successes);
        let cycles_done = Arc::clone(&cycles_done);
        thread::spawn(move || {
            let progress = || successes.load(Ordering::SeqCst);
            own_broker::kill_and_restart(&broker, CYCLES, progress, GROUPS as u64, "broker_restart");
            cycles_done.store(true, Ordering::SeqCst);
        })
    };

    let mut tick: i64 = 0;
    let mut in_flight: u64 = 0;
    let mut last_ok: HashMap<usize, i64> = HashMap::new();
    let mut failures: u64 = 0;
    let mut settle_from: Option<(Instant, i64)> = None;
    let mut next = Instant::now();
    loop {
        if cycler.is_finished() && !cycles_done.load(Ordering::SeqCst) {
            // The cycle thread panicked: report its message.
            cycler.join().expect("kill/restart cycles");
            unreachable!();
        }
        if Instant::now() >= next {
            next += TICK;
            tick += 1;
            for (g, name) in group_names.iter().enumerate() {
                admin.send(name, &topic, tick, (tick as u64) * 64 + g as u64);
                in_flight += 1;
            }
        }
        while let Some((opaque, ok)) = admin.poll() {
            in_flight -= 1;
            let (t, g) = ((opaque / 64) as i64, (opaque % 64) as usize);
            if ok {
                successes.fetch_add(1, Ordering::SeqCst);
                let entry = last_ok.entry(g).or_insert(0);
                *entry = (*entry).max(t);
            } else {
                failures += 1;
            }
        }
        admin.serve();
        if cycles_done.load(Ordering::SeqCst) {
            let (since, target) = *settle_from.get_or_insert((Instant::now(), tick + 1));
            if (0..GROUPS).all(|g| last_ok.get(&g).is_some_and(|t| *t >= target)) {
                eprintln!(
                    "[broker_restart] all groups committed tick >= {target} {:.1?} after the last restart",
                    since.elapsed()
                );
                break;
            }
            assert!(
                since.elapsed() < SETTLE_BOUND,
                "groups without a commit since the last restart after {SETTLE_BOUND:?}: {:?}",
                (0..GROUPS).filter(|g| last_ok.get(g).is_none_or(|t| *t < target)).collect::<Vec<_>>()
            );
        }
        thread::sleep(Duration::from_millis(5));
    }
    cycler.join().expect("kill/restart cycles");

    // Let every request still in flight finish (each ends in a result within its timeout).
    let drain_deadline = Instant::now() + Duration::from_secs(30);
    while in_flight > 0 {
        assert!(Instant::now() < drain_deadline, "{in_flight} requests never answered");
        while let Some((opaque, ok)) = admin.poll() {
            in_flight -= 1;
            if ok {
                let (t, g) = ((opaque / 64) as i64, (opaque % 64) as usize);
                let entry = last_ok.entry(g).or_insert(0);
                *entry = (*entry).max(t);
            }
        }
        admin.serve();
        thread::sleep(Duration::from_millis(10));
    }

    // Independent requests may be applied out of order around a restart (one still waiting for
    // its coordinator while a later one goes straight through), so the highest acknowledged tick
    // is not necessarily the last one applied. With nothing in flight any more, one final commit
    // per group (retried until acknowledged) defines the latest offsets exactly.
    let final_tick = tick + 1;
    let mut pending: Vec<usize> = (0..GROUPS).collect();
    let final_deadline = Instant::now() + SETTLE_BOUND;
    while !pending.is_empty() {
        for &g in &pending {
            admin.send(&group_names[g], &topic, final_tick, (final_tick as u64) * 64 + g as u64);
        }
        let mut answered = 0;
        let mut acknowledged = Vec::new();
        while answered < pending.len() {
            assert!(Instant::now() < final_deadline, "final commits of {pending:?} never answered");
            while let Some((opaque, ok)) = admin.poll() {
                answered += 1;
                if ok {
                    acknowledged.push((opaque % 64) as usize);
                }
            }
            admin.serve();
            thread::sleep(Duration::from_millis(10));
        }
        pending.retain(|g| !acknowledged.contains(g));
        assert!(
            pending.is_empty() || Instant::now() < final_deadline,
            "final commits of groups {pending:?} still fail after {SETTLE_BOUND:?}"
        );
    }
    for g in 0..GROUPS {
        last_ok.insert(g, final_tick);
    }

    // Read back with Kafka's own Java client.
    let read = broker.group_offsets(&groups, &topic);
    for (g, name) in groups.iter().enumerate() {
        let expected = last_ok[&g];
        for partition in 0..PARTITIONS {
            let got = read.get(name).and_then(|offsets| offsets.get(&partition)).copied();
            assert_eq!(
                got,
                Some(expected + P1_BASE * i64::from(partition)),
                "group {name} partition {partition}: committed {got:?}, expected the final commit (tick {expected})"
            );
        }
    }
    eprintln!(
        "[broker_restart] {CYCLES} kill/restart cycles survived; {tick} ticks x {GROUPS} groups, {failures} failed requests (during outages); all {GROUPS} groups hold their latest offsets; total {:.1?}",
        started.elapsed()
    );
    drop(admin);
}
