//! In-process librdkafka, driven through the raw C API as the helper process drives it: an admin
//! (producer-type) client whose AlterConsumerGroupOffsets answers arrive on a private queue. For the
//! librdkafka regression test and for the benchmark that measures what the helper process adds.
#![allow(dead_code)] // each user takes a different subset

use std::ffi::{c_void, CStr};
use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::TopicPartitionList;

/// An admin (producer-type) client whose AlterConsumerGroupOffsets results arrive on a private
/// queue, driven through the raw C API.
pub struct RawAdmin {
    producer: BaseProducer,
    results: *mut rdsys::rd_kafka_queue_t,
    request_timeout_ms: i32,
}

impl RawAdmin {
    pub fn new(bootstrap: &str, request_timeout_ms: i32) -> Self {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("reconnect.backoff.ms", "100")
            .set("reconnect.backoff.max.ms", "1000")
            .create()
            .expect("admin client");
        // SAFETY: the handle is valid for the producer's lifetime; the queue is destroyed first.
        let results = unsafe { rdsys::rd_kafka_queue_new(producer.client().native_ptr()) };
        RawAdmin { producer, results, request_timeout_ms }
    }

    /// Sends one AlterConsumerGroupOffsets request; its answer comes from `poll` with `opaque`.
    pub fn send(&self, group: &CStr, offsets: &[(String, i32, i64)], opaque: u64) {
        let mut partitions = TopicPartitionList::with_capacity(offsets.len());
        for (topic, partition, offset) in offsets {
            partitions.add_partition_offset(topic, *partition, rdkafka::Offset::Offset(*offset)).unwrap();
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
                self.request_timeout_ms,
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
    pub fn poll(&self) -> Option<(u64, bool)> {
        self.poll_within(Duration::ZERO)
    }

    /// Like [`RawAdmin::poll`], waiting up to `wait` for a request to finish (asleep on the
    /// queue, as a blocking client waits).
    pub fn poll_within(&self, wait: Duration) -> Option<(u64, bool)> {
        let wait_ms = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: the queue is valid; the event is destroyed after reading.
        unsafe {
            let event = rdsys::rd_kafka_queue_poll(self.results, wait_ms);
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
    pub fn serve(&self) {
        self.producer.poll(Duration::ZERO);
    }
}

impl Drop for RawAdmin {
    fn drop(&mut self) {
        // SAFETY: created in `new`, destroyed once, before the producer.
        unsafe { rdsys::rd_kafka_queue_destroy(self.results) };
    }
}
