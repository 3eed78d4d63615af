package io.kafkaoffsetcommitter;

import java.lang.ref.WeakReference;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * OAUTHBEARER tokens from the JVM's login handler, pushed to the native core. librdkafka cannot run Java login
 * handlers (MSK IAM's, Kafka's OIDC handler, any vendor's), so the handler the settings name runs here
 * ({@link OAuthLogin}) and its tokens go to the committer's cluster, which keeps the latest one for every helper
 * it starts. One JVM daemon thread refreshes every committer's token before it expires; no native thread ever
 * calls into the JVM.
 */
final class OAuthTokens {
    private static final Logger LOG = Logger.getLogger(OAuthTokens.class.getName());

    /** A token is refreshed after this share of its remaining life (as librdkafka and Kafka's client do). */
    private static final double REFRESH_SHARE = 0.8;
    /** ...and never later than this before it expires. */
    private static final long EXPIRY_MARGIN_MS = 5_000;
    /** The shortest pause between two refreshes, so a token that lives very briefly cannot spin the thread. */
    private static final long MIN_REFRESH_DELAY_MS = 1_000;

    private static final long FIRST_RETRY_MS = 1_000;
    private static final long MAX_RETRY_MS = 60_000;

    private static final Pattern UNSECURED_SUBJECT = Pattern.compile("\\bunsecuredLoginStringClaim_sub\\s*=");

    private static ScheduledThreadPoolExecutor scheduler;

    /** A token as the native core takes it. {@link #toString} shows no value. */
    static final class Token {
        final String value;
        final long expiresAtEpochMs;
        final String principal;
        final Map<String, String> extensions;

        Token(String value, long expiresAtEpochMs, String principal, Map<String, String> extensions) {
            this.value = value;
            this.expiresAtEpochMs = expiresAtEpochMs;
            this.principal = principal == null ? "" : principal;
            this.extensions = new TreeMap<>(extensions);
        }

        @Override
        public String toString() {
            return "Token(principal " + principal + ", expires at " + expiresAtEpochMs + ", extensions "
                    + extensions.keySet() + ")";
        }
    }

    private OAuthTokens() {}

    /**
     * The settings' OAUTHBEARER login when its tokens must come from the JVM: a login handler is named, or the
     * JAAS entry is no unsecured test login (which librdkafka makes itself). Null otherwise. Setting names compare
     * case-insensitively, as everywhere in the core.
     */
    static OAuthLogin loginFor(Map<String, String> settings) {
        Map<String, String> normalised = normalised(settings);
        if (!"OAUTHBEARER".equalsIgnoreCase(normalised.get("sasl.mechanism"))) {
            return null;
        }
        String pushed = normalised.get(EngineSettings.OAUTHBEARER_TOKENS_PUSHED);
        if (pushed != null && !pushed.equalsIgnoreCase("true")) {
            return null; // the caller decided; the core refuses what it cannot make itself
        }
        String jaas = normalised.get("sasl.jaas.config");
        boolean unsecuredTestLogin =
                jaas != null && UNSECURED_SUBJECT.matcher(jaas).find();
        if (pushed == null && !normalised.containsKey(OAuthLogin.HANDLER_CLASS) && unsecuredTestLogin) {
            return null;
        }
        KafkaClients.require("sasl.mechanism OAUTHBEARER with a login handler");
        return OAuthLogin.configure(normalised);
    }

    /** {@code settings} with the promise that tokens are pushed, for the native core. */
    static Map<String, String> announced(Map<String, String> settings) {
        Map<String, String> announced = new TreeMap<>(settings);
        announced.put(EngineSettings.OAUTHBEARER_TOKENS_PUSHED, "true");
        return announced;
    }

    /**
     * Pushes {@code login}'s first token to {@code committer} now, then keeps it fresh on the refresh thread until
     * {@link Refresh#stop} or until the committer is closed or collected. A first token that cannot be had is
     * retried in the background (one WARN line), as later failures are.
     */
    static Refresh start(OffsetCommitter committer, OAuthLogin login) {
        Refresh refresh = new Refresh(committer, login);
        refresh.run();
        return refresh;
    }

    private static Map<String, String> normalised(Map<String, String> settings) {
        Map<String, String> normalised = new TreeMap<>();
        for (Map.Entry<String, String> setting : settings.entrySet()) {
            if (setting.getKey() != null
                    && setting.getValue() != null
                    && !setting.getValue().trim().isEmpty()) {
                normalised.put(
                        setting.getKey().trim().toLowerCase(Locale.ROOT),
                        setting.getValue().trim());
            }
        }
        return normalised;
    }

    private static synchronized ScheduledThreadPoolExecutor scheduler() {
        if (scheduler == null) {
            scheduler = new ScheduledThreadPoolExecutor(1, task -> {
                Thread thread = new Thread(task, "kafka-offset-committer-oauth");
                thread.setDaemon(true);
                return thread;
            });
            scheduler.setRemoveOnCancelPolicy(true);
        }
        return scheduler;
    }

    /** One committer's token refresh. Holds the committer weakly, so a forgotten committer is still collected. */
    static final class Refresh implements Runnable {
        private final WeakReference<OffsetCommitter> committer;
        private final OAuthLogin login;
        private long retryMs = FIRST_RETRY_MS;
        private boolean failing;
        private volatile boolean stopped;
        private boolean loginClosed;
        private ScheduledFuture<?> next;

        private Refresh(OffsetCommitter committer, OAuthLogin login) {
            this.committer = new WeakReference<>(committer);
            this.login = login;
        }

        @Override
        public synchronized void run() {
            OffsetCommitter target = committer.get();
            if (stopped || target == null) {
                stopNow();
                return;
            }
            long delayMs;
            try {
                Token token = login.fetch();
                target.pushOAuthToken(token);
                if (failing) {
                    LOG.info("OAUTHBEARER login handler " + login.handlerName() + " makes tokens again");
                }
                failing = false;
                retryMs = FIRST_RETRY_MS;
                delayMs = refreshDelayMs(token.expiresAtEpochMs, System.currentTimeMillis());
            } catch (CommitterClosedException closed) {
                stopNow();
                return;
            } catch (Exception | LinkageError failure) {
                String reason = login.describe(failure);
                if (!failing) {
                    LOG.warning("OAUTHBEARER login handler " + login.handlerName()
                            + " could not make a token; retrying with backoff: " + reason);
                }
                failing = true;
                // The native side fails the login at once instead of waiting for a token until commits time out.
                try {
                    target.pushOAuthTokenFailure(
                            "the login handler " + login.handlerName() + " could not make a token: " + reason);
                } catch (CommitterClosedException closed) {
                    stopNow();
                    return;
                } catch (RuntimeException refused) {
                    LOG.fine("the native core did not take the login failure: "
                            + refused.getClass().getName());
                }
                delayMs = retryMs;
                retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
            }
            next = scheduler().schedule(this, delayMs, TimeUnit.MILLISECONDS);
        }

        /**
         * Stops refreshing and closes the handler; idempotent. Waits for a refresh under way, so callers hold no
         * lock a refresh takes (the committer's).
         */
        void stop() {
            stopped = true;
            synchronized (this) {
                stopNow();
            }
        }

        private void stopNow() {
            stopped = true;
            if (loginClosed) {
                return;
            }
            loginClosed = true;
            if (next != null) {
                next.cancel(false);
            }
            login.close();
        }
    }

    /** When to refresh a token expiring at {@code expiresAt}: at 80 % of its remaining life, before its expiry. */
    static long refreshDelayMs(long expiresAt, long now) {
        long remaining = expiresAt - now;
        long delay = Math.min((long) (remaining * REFRESH_SHARE), remaining - EXPIRY_MARGIN_MS);
        return Math.max(delay, MIN_REFRESH_DELAY_MS);
    }
}
