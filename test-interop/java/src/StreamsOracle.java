// Kafka Streams as the oracle for tributary/streams: runs a named topology on kafka-streams-test-utils'
// TopologyTestDriver and prints what it outputs.
//   java -cp <classpath> StreamsOracle <topology> [config=value ...]
// stdin: one JSON object per line, {"topic": "...", "key": "..." | null, "value": ... | null, "timestamp": 123}
//        piped into the driver in order; a line {"reset": true} starts a fresh driver (a new test case) and is
//        echoed to stdout, so one JVM can answer many cases.
// stdout: after each input record, every record the topology wrote, one JSON object per line, output topics in
//         the order the topology declares them: {"topic", "key", "value", "timestamp"}.
// Topologies (see test-interop/README.md):
//   word-count        text-lines (String, String) -> word-counts (String word, Long count)
//   ktable-aggregate  user-regions (String user, String region) as a KTable, groupBy region,
//                     aggregate(0, adder +1, subtractor -1) -> region-counts (String region, Long users)
// Config defaults: statestore.cache.max.bytes=0 (every update is emitted, not only the last per commit).

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.function.Supplier;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.test.TestRecord;

public final class StreamsOracle {
  /** A topology with its input topics (String keys and values) and typed output topics. */
  record Named(Supplier<Topology> build, List<String> inputs, Map<String, Deserializer<?>> outputs) {}

  static final Map<String, Named> TOPOLOGIES = new LinkedHashMap<>();

  static {
    TOPOLOGIES.put(
        "word-count",
        new Named(
            () -> {
              StreamsBuilder b = new StreamsBuilder();
              b.stream("text-lines", Consumed.with(Serdes.String(), Serdes.String()))
                  .flatMapValues(line -> Arrays.asList(line.toLowerCase(Locale.ROOT).split("\\W+")))
                  .filter((key, word) -> !word.isEmpty())
                  .groupBy((key, word) -> word, Grouped.with(Serdes.String(), Serdes.String()))
                  .count(Materialized.as(Stores.inMemoryKeyValueStore("counts")))
                  .toStream()
                  .to("word-counts", Produced.with(Serdes.String(), Serdes.Long()));
              return b.build();
            },
            List.of("text-lines"),
            Map.of("word-counts", Serdes.Long().deserializer())));
    TOPOLOGIES.put(
        "ktable-aggregate",
        new Named(
            () -> {
              StreamsBuilder b = new StreamsBuilder();
              KTable<String, String> regions =
                  b.table(
                      "user-regions",
                      Consumed.with(Serdes.String(), Serdes.String()),
                      Materialized.as(Stores.inMemoryKeyValueStore("user-regions-store")));
              regions
                  .groupBy((user, region) -> KeyValue.pair(region, user), Grouped.with(Serdes.String(), Serdes.String()))
                  .aggregate(
                      () -> 0L,
                      (region, user, count) -> count + 1,
                      (region, user, count) -> count - 1,
                      Materialized.<String, Long>as(Stores.inMemoryKeyValueStore("region-counts-store"))
                          .withKeySerde(Serdes.String())
                          .withValueSerde(Serdes.Long()))
                  .toStream()
                  .to("region-counts", Produced.with(Serdes.String(), Serdes.Long()));
              return b.build();
            },
            List.of("user-regions"),
            Map.of("region-counts", Serdes.Long().deserializer())));
    TOPOLOGIES.putAll(WindowTopologies.all());
    TOPOLOGIES.putAll(JoinTopologies.all());
    TOPOLOGIES.putAll(VersionedTopologies.all());
    TOPOLOGIES.putAll(TransformValuesTopologies.all());
  }

  static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    if (args.length < 1 || !TOPOLOGIES.containsKey(args[0])) {
      System.err.println("usage: StreamsOracle <" + String.join("|", TOPOLOGIES.keySet()) + "> [config=value ...]");
      System.exit(2);
    }
    Named named = TOPOLOGIES.get(args[0]);
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "streams-oracle");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, "0");
    for (int i = 1; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      if (eq < 0) throw new IllegalArgumentException("expected config=value, got " + args[i]);
      props.put(args[i].substring(0, eq), args[i].substring(eq + 1));
    }
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    Case current = new Case(named, props);
    try {
      for (String line; (line = in.readLine()) != null; ) {
        if (line.isBlank()) continue;
        JsonNode node = JSON.readTree(line);
        if (node.path("reset").asBoolean(false)) {
          current.close();
          current = new Case(named, props);
          out.println("{\"reset\":true}");
          continue;
        }
        current.pipe(node, out);
      }
    } finally {
      current.close();
      out.flush();
    }
  }

  /** One TopologyTestDriver with its input and output topics. */
  static final class Case implements AutoCloseable {
    final TopologyTestDriver driver;
    final Map<String, TestInputTopic<String, String>> inputs = new LinkedHashMap<>();
    final Map<String, TestOutputTopic<String, ?>> outputs = new LinkedHashMap<>();

    Case(Named named, Properties props) {
      driver = new TopologyTestDriver(named.build().get(), props, Instant.EPOCH);
      Serde<String> s = Serdes.String();
      for (String topic : named.inputs()) inputs.put(topic, driver.createInputTopic(topic, s.serializer(), s.serializer()));
      for (Map.Entry<String, Deserializer<?>> e : named.outputs().entrySet()) {
        outputs.put(e.getKey(), driver.createOutputTopic(e.getKey(), s.deserializer(), e.getValue()));
      }
    }

    void pipe(JsonNode node, PrintStream out) {
      String topic = node.path("topic").asText();
      TestInputTopic<String, String> input = inputs.get(topic);
      if (input == null) throw new IllegalArgumentException("not an input topic of this topology: " + topic);
      String key = node.path("key").isNull() || node.path("key").isMissingNode() ? null : node.path("key").asText();
      String value = node.path("value").isNull() || node.path("value").isMissingNode() ? null : node.path("value").asText();
      long timestamp = node.path("timestamp").asLong(0);
      input.pipeInput(new TestRecord<>(key, value, null, timestamp));
      for (Map.Entry<String, TestOutputTopic<String, ?>> e : outputs.entrySet()) {
        List<? extends TestRecord<String, ?>> records = new ArrayList<>(e.getValue().readRecordsToList());
        for (TestRecord<String, ?> r : records) {
          ObjectNode o = JSON.createObjectNode();
          o.put("topic", e.getKey());
          o.set("key", JSON.valueToTree(r.key()));
          o.set("value", JSON.valueToTree(r.value()));
          o.put("timestamp", r.timestamp());
          out.println(o.toString());
        }
      }
    }

    @Override
    public void close() {
      driver.close();
    }
  }
}
