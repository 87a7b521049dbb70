/**
 * A Java agent that does nothing. LocalStack starts DynamoDB Local with
 * -javaagent:ddb-local-loader-0.1.jar, its own patch (more than 20 GSIs) that it downloads from
 * GitHub; scripts/install_localstack.sh compiles this class into a jar of that name instead.
 */
public final class NoopAgent {
    private NoopAgent() {}

    public static void premain(String args) {}

    public static void premain(String args, java.lang.instrument.Instrumentation inst) {}
}
