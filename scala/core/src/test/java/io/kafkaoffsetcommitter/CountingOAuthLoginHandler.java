package io.kafkaoffsetcommitter;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerTokenCallback;
import org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredLoginCallbackHandler;

/**
 * A login handler named by class, as vendors' handlers are (MSK IAM's): Kafka's unsecured handler inside, counting
 * the tokens it makes and keeping them so a test can look for them where they must never show.
 */
public class CountingOAuthLoginHandler implements AuthenticateCallbackHandler {
    static final AtomicInteger TOKENS_MADE = new AtomicInteger();
    static final AtomicInteger CONFIGURED = new AtomicInteger();
    static final List<String> TOKENS = new CopyOnWriteArrayList<>();

    private final OAuthBearerUnsecuredLoginCallbackHandler inner = new OAuthBearerUnsecuredLoginCallbackHandler();

    @Override
    public void configure(Map<String, ?> configs, String mechanism, List<AppConfigurationEntry> entries) {
        CONFIGURED.incrementAndGet();
        inner.configure(configs, mechanism, entries);
    }

    @Override
    public void handle(Callback[] callbacks) throws IOException, UnsupportedCallbackException {
        inner.handle(callbacks);
        for (Callback callback : callbacks) {
            if (callback instanceof OAuthBearerTokenCallback && ((OAuthBearerTokenCallback) callback).token() != null) {
                TOKENS.add(((OAuthBearerTokenCallback) callback).token().value());
                TOKENS_MADE.incrementAndGet();
            }
        }
    }

    @Override
    public void close() {
        inner.close();
    }
}
