package io.kafkaoffsetcommitter;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.UnsupportedCallbackException;
import javax.security.auth.login.AppConfigurationEntry;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.security.JaasContext;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.security.auth.SaslExtensions;
import org.apache.kafka.common.security.auth.SaslExtensionsCallback;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerToken;
import org.apache.kafka.common.security.oauthbearer.OAuthBearerTokenCallback;
import org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredLoginCallbackHandler;

/**
 * An OAUTHBEARER login run as Kafka's Java client runs it: the {@code sasl.login.callback.handler.class} the
 * settings name (Kafka's unsecured handler when none is named, as in Kafka's {@code LoginManager}), configured
 * with the client's settings and the {@code sasl.jaas.config} entries, asked for a token and for SASL
 * extensions through the standard callbacks. Compiled against kafka-clients: use only after
 * {@link KafkaClients#require}.
 */
final class OAuthLogin implements AutoCloseable {
    private static final String MECHANISM = "OAUTHBEARER";
    static final String HANDLER_CLASS = "sasl.login.callback.handler.class";
    /**
     * JAAS options that are public by definition (OAuth's scope and client id, RFC 6749) and whose values are often
     * common words ("kafka", "openid"): hiding them would mangle messages (org.apache.[redacted].common...).
     */
    private static final Set<String> PUBLIC_OPTIONS = new HashSet<>(Arrays.asList("scope", "clientid"));

    private final AuthenticateCallbackHandler handler;
    private final String handlerName;
    // Option values of the JAAS entries (client secrets among them): kept out of every message.
    private final List<String> secrets = new ArrayList<>();
    // The last token made, also kept out of every message.
    private volatile String lastToken;

    private OAuthLogin(AuthenticateCallbackHandler handler, String handlerName) {
        this.handler = handler;
        this.handlerName = handlerName;
    }

    /** Instantiates and configures the handler; every failure is an {@link InvalidConfigException}. */
    static OAuthLogin configure(Map<String, String> settings) {
        String named = settings.get(HANDLER_CLASS);
        AuthenticateCallbackHandler handler =
                named == null ? new OAuthBearerUnsecuredLoginCallbackHandler() : instantiate(named);
        String handlerName = handler.getClass().getName();
        OAuthLogin login = new OAuthLogin(handler, handlerName);
        try {
            Map<String, Object> configs = clientConfigs(settings);
            List<AppConfigurationEntry> entries =
                    JaasContext.loadClientContext(configs).configurationEntries();
            for (AppConfigurationEntry entry : entries) {
                for (Map.Entry<String, ?> option : entry.getOptions().entrySet()) {
                    Object value = option.getValue();
                    boolean isPublic = PUBLIC_OPTIONS.contains(option.getKey().toLowerCase(Locale.ROOT));
                    if (!isPublic && value != null && value.toString().length() >= 4) {
                        login.secrets.add(value.toString());
                    }
                }
            }
            handler.configure(configs, MECHANISM, entries);
        } catch (RuntimeException refused) {
            throw new InvalidConfigException("the OAUTHBEARER login handler " + handlerName + " refused its settings: "
                    + login.describe(refused));
        }
        return login;
    }

    private static AuthenticateCallbackHandler instantiate(String name) {
        Class<?> type;
        try {
            type = KafkaClients.load(name);
        } catch (ClassNotFoundException | LinkageError missing) {
            throw new InvalidConfigException(HANDLER_CLASS + ": the class " + name
                    + " is not on the class path (add the jar that provides it, e.g."
                    + " software.amazon.msk:aws-msk-iam-auth for AWS MSK IAM)");
        }
        if (!AuthenticateCallbackHandler.class.isAssignableFrom(type)) {
            throw new InvalidConfigException(HANDLER_CLASS + ": " + name + " is not an "
                    + AuthenticateCallbackHandler.class.getName() + " (or was loaded by another class loader)");
        }
        try {
            return (AuthenticateCallbackHandler) type.getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | RuntimeException | LinkageError failed) {
            Throwable cause = failed.getCause() != null ? failed.getCause() : failed;
            throw new InvalidConfigException(HANDLER_CLASS + ": cannot instantiate " + name + " with its public"
                    + " no-argument constructor: " + cause.getClass().getName());
        }
    }

    /**
     * The settings as Kafka's client hands them to its login handler: client SASL and TLS settings parsed to their
     * types, every other setting as given (Kafka's {@code ChannelBuilders.channelBuilderConfigs}).
     */
    private static Map<String, Object> clientConfigs(Map<String, String> settings) {
        ConfigDef definitions = new ConfigDef().withClientSslSupport().withClientSaslSupport();
        AbstractConfig parsed = new AbstractConfig(definitions, settings, false);
        Map<String, Object> configs = new HashMap<>(parsed.values());
        for (Map.Entry<String, Object> original : parsed.originals().entrySet()) {
            configs.putIfAbsent(original.getKey(), original.getValue());
        }
        return configs;
    }

    String handlerName() {
        return handlerName;
    }

    /** Asks the handler for a token and its extensions, as Kafka's {@code OAuthBearerLoginModule} does. */
    OAuthTokens.Token fetch() throws Exception {
        OAuthBearerTokenCallback tokenCallback = new OAuthBearerTokenCallback();
        handler.handle(new Callback[] {tokenCallback});
        if (tokenCallback.errorCode() != null) {
            throw new IllegalStateException("the handler reported error " + tokenCallback.errorCode()
                    + (tokenCallback.errorDescription() == null ? "" : ": " + tokenCallback.errorDescription()));
        }
        OAuthBearerToken token = tokenCallback.token();
        if (token == null) {
            throw new IllegalStateException("the handler gave no token");
        }
        lastToken = token.value();
        Map<String, String> extensions = new HashMap<>();
        SaslExtensionsCallback extensionsCallback = new SaslExtensionsCallback();
        try {
            handler.handle(new Callback[] {extensionsCallback});
            SaslExtensions given = extensionsCallback.extensions();
            if (given != null) {
                extensions.putAll(given.map());
            }
        } catch (UnsupportedCallbackException noExtensions) {
            // A handler without extensions: Kafka's login module sends none either.
        }
        return new OAuthTokens.Token(token.value(), token.lifetimeMs(), token.principalName(), extensions);
    }

    /** What went wrong, without any JAAS option value (client secrets) or token in it. */
    String describe(Throwable failure) {
        StringBuilder text = new StringBuilder();
        for (Throwable cause = failure; cause != null && text.length() < 1000; cause = cause.getCause()) {
            text.append(text.length() == 0 ? "" : "; caused by ")
                    .append(cause.getClass().getName());
            // Wrappers often repeat their cause's message (Kafka's handlers wrap the token endpoint's
            // answer twice): each message is shown once.
            String message = cause.getMessage();
            if (message != null && text.indexOf(message) < 0) {
                text.append(": ").append(message);
            }
            if (cause.getCause() == cause) {
                break;
            }
        }
        String shown = text.toString();
        for (String secret : secrets) {
            shown = shown.replace(secret, "[redacted]");
        }
        String token = lastToken;
        if (token != null && !token.isEmpty()) {
            shown = shown.replace(token, "[redacted]");
        }
        return shown;
    }

    @Override
    public void close() {
        try {
            handler.close();
        } catch (RuntimeException ignored) {
            // Closing is best effort: the committer is gone either way.
        }
    }
}
