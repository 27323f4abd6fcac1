// Starts one Apache Kafka node (KRaft broker + controller) for Tributary's tests and benchmarks:
//   java -cp <classpath> KafkaNode <server.properties> <cluster-id>
// formats the log directories (once; a formatted directory is kept) and runs kafka.Kafka in this JVM.
// The node stops (with Kafka's own clean shutdown) when its standard input closes, so it can never outlive the
// process that started it, even one killed with SIGKILL.

import java.io.IOException;

public final class KafkaNode {
  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: KafkaNode <server.properties> <cluster-id>");
      System.exit(2);
    }
    Thread watchdog =
        new Thread(
            () -> {
              try {
                while (System.in.read() != -1) {
                  // the parent never writes; EOF means it closed the pipe or died
                }
              } catch (IOException e) {
                // the same: no parent any more
              }
              System.err.println("KafkaNode: standard input closed, shutting down");
              System.exit(0);
            },
            "parent-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();

    int rc =
        kafka.tools.StorageTool.execute(
            new String[] {"format", "-t", args[1], "-c", args[0], "--ignore-formatted"}, System.err);
    if (rc != 0) {
      System.err.println("KafkaNode: formatting the log directories failed with " + rc);
      System.exit(rc);
    }
    kafka.Kafka.main(new String[] {args[0]});
  }
}
