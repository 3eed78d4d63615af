package io.kafkaoffsetcommitter;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import javax.security.auth.callback.Callback;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;

/**
 * A login handler whose token endpoint refuses it, as a vendor's handler does with a revoked credential: every
 * token request fails with {@link #REASON}, and the message also quotes the JAAS entry's {@code clientSecret}, as a
 * careless handler might, so a test can prove the secret never travels on with the reason.
 */
public class RefusingOAuthLoginHandler implements AuthenticateCallbackHandler {
    static final String REASON = "the token endpoint answered 401 invalid_client";

    private String clientSecret = "";

    @Override
    public void configure(Map<String, ?> configs, String mechanism, List<AppConfigurationEntry> entries) {
        for (AppConfigurationEntry entry : entries) {
            Object secret = entry.getOptions().get("clientSecret");
            if (secret != null) {
                clientSecret = secret.toString();
            }
        }
    }

    @Override
    public void handle(Callback[] callbacks) throws IOException {
        throw new IOException(REASON + " for client secret " + clientSecret);
    }

    @Override
    public void close() {}
}
