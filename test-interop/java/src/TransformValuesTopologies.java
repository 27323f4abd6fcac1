// KTable#transformValues topologies for StreamsOracle (tributary's transformValues against Kafka Streams). All
// String keys and values; joiners write "[left,right]" so nulls show; counts are written as strings.
//   transform-values           users (table): transformValues k->v! (tombstones too) -> tv-out; the same, looked up by
//                              orders (stream) leftJoin -> stream-join-out and by left-table join -> table-join-out,
//                              and groupBy(first letter of the value) count -> count-out (old values transformed
//                              again);
//                              a transformer counting per key in a named store, materialized -> mat-out, its
//                              groupBy(count) count -> mat-count-out (old values from the store)
//   transform-values-versioned users versioned (history 3000 ms): transformValues upper-case -> stream-out, joined by
//                              left-table -> inherited-join-out, grouped and counted -> count-out, looked up by orders
//                              -> stream-join-out; materialized in a versioned store -> versioned-out, in a timestamped
//                              one and joined by left-table -> plain-join-out

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.ValueTransformerWithKey;
import org.apache.kafka.streams.kstream.ValueTransformerWithKeySupplier;
import org.apache.kafka.streams.processor.ProcessorContext;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

final class TransformValuesTopologies {
  private TransformValuesTopologies() {}

  /** A stateless transformer: key, value and "!" ("k->null!" for a tombstone). */
  static ValueTransformerWithKeySupplier<String, String, String> exclamation() {
    return () ->
        new ValueTransformerWithKey<String, String, String>() {
          public void init(ProcessorContext context) {}

          public String transform(String key, String value) {
            return key + "->" + value + "!";
          }

          public void close() {}
        };
  }

  /** Upper case, null for a tombstone. */
  static ValueTransformerWithKeySupplier<String, String, String> upper() {
    return () ->
        new ValueTransformerWithKey<String, String, String>() {
          public void init(ProcessorContext context) {}

          public String transform(String key, String value) {
            return value == null ? null : value.toUpperCase();
          }

          public void close() {}
        };
  }

  /** Counts the updates of each key in the store "tv-counts": "<value>#<n>", null for a tombstone. */
  static ValueTransformerWithKeySupplier<String, String, String> counting() {
    return () ->
        new ValueTransformerWithKey<String, String, String>() {
          KeyValueStore<String, Long> counts;

          public void init(ProcessorContext context) {
            counts = context.getStateStore("tv-counts");
          }

          public String transform(String key, String value) {
            Long n = counts.get(key);
            long next = n == null ? 1 : n + 1;
            counts.put(key, next);
            return value == null ? null : value + "#" + next;
          }

          public void close() {}
        };
  }

  /** "k1->abc!" -> "a" (the first letter of the value the exclamation transformer saw, "n" for null). */
  static String firstLetterOfValue(String v) {
    int i = v.indexOf('>') + 1;
    return v.substring(i, i + 1);
  }

  static Map<String, StreamsOracle.Named> all() {
    Consumed<String, String> c = Consumed.with(Serdes.String(), Serdes.String());
    Produced<String, String> p = Produced.with(Serdes.String(), Serdes.String());
    Grouped<String, String> g = Grouped.with(Serdes.String(), Serdes.String());
    Map<String, StreamsOracle.Named> m = new LinkedHashMap<>();
    m.put(
        "transform-values",
        new StreamsOracle.Named(
            () -> {
              StreamsBuilder b = new StreamsBuilder();
              b.addStateStore(
                  Stores.keyValueStoreBuilder(
                      Stores.inMemoryKeyValueStore("tv-counts"), Serdes.String(), Serdes.Long()));
              KStream<String, String> orders = b.stream("orders", c);
              KTable<String, String> users = b.table("users", c);
              KTable<String, String> left = b.table("left-table", c);
              KTable<String, String> tv = users.transformValues(exclamation());
              tv.toStream().to("tv-out", p);
              orders.leftJoin(tv, JoinTopologies.JOINER).to("stream-join-out", p);
              left.join(tv, JoinTopologies.JOINER).toStream().to("table-join-out", p);
              tv.groupBy((k, v) -> KeyValue.pair(firstLetterOfValue(v), v), g)
                  .count()
                  .toStream()
                  .mapValues(n -> String.valueOf(n))
                  .to("count-out", p);
              KTable<String, String> mat =
                  users.transformValues(
                      counting(),
                      VersionedTopologies.store(Stores.inMemoryKeyValueStore("tv-store"), Serdes.String()),
                      "tv-counts");
              mat.toStream().to("mat-out", p);
              mat.groupBy((k, v) -> KeyValue.pair(v.substring(v.indexOf('#') + 1), v), g)
                  .count()
                  .toStream()
                  .mapValues(n -> String.valueOf(n))
                  .to("mat-count-out", p);
              return b.build();
            },
            List.of("orders", "users", "left-table"),
            JoinTopologies.strings(
                "tv-out", "stream-join-out", "table-join-out", "count-out", "mat-out", "mat-count-out")));
    m.put(
        "transform-values-versioned",
        new StreamsOracle.Named(
            () -> {
              StreamsBuilder b = new StreamsBuilder();
              KStream<String, String> orders = b.stream("orders", c);
              KTable<String, String> users = VersionedTopologies.versionedUsers(b, c);
              KTable<String, String> left = b.table("left-table", c);
              KTable<String, String> tv = users.transformValues(upper());
              tv.toStream().to("stream-out", p);
              left.join(tv, JoinTopologies.JOINER).toStream().to("inherited-join-out", p);
              tv.groupBy((k, v) -> KeyValue.pair(v, v), g)
                  .count()
                  .toStream()
                  .mapValues(n -> String.valueOf(n))
                  .to("count-out", p);
              orders.join(tv, JoinTopologies.JOINER).to("stream-join-out", p);
              users
                  .transformValues(
                      upper(), VersionedTopologies.store(VersionedTopologies.versionedStore("tv-versioned"), Serdes.String()))
                  .toStream()
                  .to("versioned-out", p);
              left.join(
                      users.transformValues(
                          upper(), VersionedTopologies.store(Stores.inMemoryKeyValueStore("tv-plain"), Serdes.String())),
                      JoinTopologies.JOINER)
                  .toStream()
                  .to("plain-join-out", p);
              return b.build();
            },
            List.of("orders", "users", "left-table"),
            JoinTopologies.strings(
                "stream-out",
                "inherited-join-out",
                "count-out",
                "stream-join-out",
                "versioned-out",
                "plain-join-out")));
    return m;
  }
}
