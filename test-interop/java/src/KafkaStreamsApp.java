// A real Kafka Streams 4.x application run against a broker (Tributary's or Apache Kafka), for two uses:
//   - bench/streams.ts runs the same topologies as its TypeScript series (`map`, `count`) on the same broker and
//     input, as the Java peer of tributary/streams;
//   - test-interop/kafka-streams-on-tributary.test.ts runs `word-count` under exactly_once_v2 against Tributary's
//     broker, as a check that the broker serves everything Kafka Streams needs (groups with its assignor,
//     transactions, internal topics, changelogs).
//
// Usage: KafkaStreamsApp <topology> <bootstrap> <application.id> <input> <output> <guarantee> <state.dir>
//                        [<records to process before closing, 0 = run until stdin closes>] [key=value configs...]
//   topology   map         drop keys ending in "7", upper-case the value's ASCII letters (String keys, byte values)
//              count       groupByKey().count() in the default (RocksDB) store -> Long counts
//              word-count  split lines into lower-case words, count per word (in-memory store "counts")
//   guarantee  at_least_once | exactly_once_v2
//
// stdout, one JSON line each: {"event":"running"} once the instance is RUNNING, then with a record limit
// {"event":"done","records":N,"seconds":S} where S runs from the first processed record to the end of close()
// (the last commit), as bench/streams.ts times the TypeScript runtime. Without a limit the app runs until its stdin
// closes (the parent went away or asked it to stop), then closes cleanly and prints {"event":"closed"}.
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.Stores;

public final class KafkaStreamsApp {
  static final AtomicLong processed = new AtomicLong();
  static volatile long firstProcessedNanos = 0;
  static long limit = 0;
  static final CountDownLatch allProcessed = new CountDownLatch(1);

  static void noteProcessed() {
    long n = processed.incrementAndGet();
    if (n == 1) firstProcessedNanos = System.nanoTime();
    if (limit > 0 && n == limit) allProcessed.countDown();
  }

  static byte[] upperCase(byte[] value) {
    byte[] out = new byte[value.length];
    for (int i = 0; i < value.length; i++) {
      byte c = value[i];
      out[i] = c >= 0x61 && c <= 0x7a ? (byte) (c - 32) : c;
    }
    return out;
  }

  static Topology topology(String name, String input, String output) {
    StreamsBuilder b = new StreamsBuilder();
    switch (name) {
      case "map" ->
          b.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()))
              .peek((k, v) -> noteProcessed())
              .filter((k, v) -> !k.endsWith("7"))
              .mapValues(KafkaStreamsApp::upperCase)
              .to(output, Produced.with(Serdes.String(), Serdes.ByteArray()));
      case "count" ->
          b.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()))
              .peek((k, v) -> noteProcessed())
              .groupByKey(Grouped.with(Serdes.String(), Serdes.ByteArray()))
              .count()
              .toStream()
              .to(output, Produced.with(Serdes.String(), Serdes.Long()));
      case "word-count" ->
          b.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
              .peek((k, v) -> noteProcessed())
              .flatMapValues(line -> Arrays.asList(line.toLowerCase(Locale.ROOT).split("\\W+")))
              .filter((k, word) -> !word.isEmpty())
              .groupBy((k, word) -> word, Grouped.with(Serdes.String(), Serdes.String()))
              .count(Materialized.as(Stores.inMemoryKeyValueStore("counts")))
              .toStream()
              .to(output, Produced.with(Serdes.String(), Serdes.Long()));
      default -> throw new IllegalArgumentException("unknown topology " + name + " (map, count, word-count)");
    }
    return b.build();
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 7) {
      System.err.println(
          "usage: KafkaStreamsApp <map|count|word-count> <bootstrap> <application.id> <input> <output>"
              + " <at_least_once|exactly_once_v2> <state.dir> [records] [key=value...]");
      System.exit(2);
    }
    limit = args.length > 7 ? Long.parseLong(args[7]) : 0;
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[2]);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[1]);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, args[5]);
    props.put(StreamsConfig.STATE_DIR_CONFIG, args[6]);
    props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
    for (int i = 8; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      if (eq <= 0) throw new IllegalArgumentException("config must be key=value: " + args[i]);
      props.put(args[i].substring(0, eq), args[i].substring(eq + 1));
    }
    KafkaStreams streams = new KafkaStreams(topology(args[0], args[3], args[4]), props);
    CountDownLatch running = new CountDownLatch(1);
    CountDownLatch failed = new CountDownLatch(1);
    streams.setStateListener(
        (next, prev) -> {
          if (next == KafkaStreams.State.RUNNING) running.countDown();
          if (next == KafkaStreams.State.ERROR) failed.countDown();
        });
    streams.setUncaughtExceptionHandler(
        e -> {
          System.err.println("KafkaStreamsApp: " + e);
          failed.countDown();
          return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse
              .SHUTDOWN_CLIENT;
        });
    streams.start();
    running.await();
    System.out.println("{\"event\":\"running\"}");
    System.out.flush();
    // The parent closing our stdin (or going away) means stop.
    CountDownLatch stdinClosed = new CountDownLatch(1);
    Thread watcher =
        new Thread(
            () -> {
              try (InputStream in = System.in) {
                while (in.read() >= 0) {}
              } catch (IOException ignored) {
              }
              stdinClosed.countDown();
            });
    watcher.setDaemon(true);
    watcher.start();
    while (failed.getCount() > 0 && stdinClosed.getCount() > 0 && (limit == 0 || allProcessed.getCount() > 0)) {
      allProcessed.await(100, java.util.concurrent.TimeUnit.MILLISECONDS);
    }
    boolean ok = failed.getCount() > 0;
    streams.close(Duration.ofSeconds(60));
    long end = System.nanoTime();
    if (!ok) {
      System.err.println("KafkaStreamsApp: the application failed (state ERROR)");
      System.exit(1);
    }
    if (limit > 0 && allProcessed.getCount() == 0) {
      double seconds = (end - firstProcessedNanos) / 1e9;
      System.out.printf(Locale.ROOT, "{\"event\":\"done\",\"records\":%d,\"seconds\":%.6f}%n", processed.get(), seconds);
    } else {
      System.out.println("{\"event\":\"closed\",\"records\":" + processed.get() + "}");
    }
    System.out.flush();
    System.exit(0);
  }
}
