// Versioned-table topologies for StreamsOracle (tributary's versioned tables and grace joins against Kafka
// Streams). All String keys and values; the joiner writes "[left,right]" so nulls show.
//   versioned-table       users: versioned table (history 3000 ms) -> toStream -> table-out; orders (stream)
//                         join / leftJoin users, no grace -> inner-out, left-out
//   versioned-grace-join  orders join users (grace 500 ms) -> inner-out; orders leftJoin users.mapValues(v + "!")
//                         (grace 2000 ms) -> left-out; users versioned (history 3000 ms)
//   versioned-table-join  users (versioned) join / outerJoin left-table; left-table leftJoin users.mapValues(v + "!")
//                         -> inner-out, left-out, outer-out (out-of-order versioned updates are dropped)
//   versioned-table-ops   users (versioned): filter(v != "b") -> filter-out; filter(v != "c") in a versioned store
//                         join left-table -> filter-join-out; mapValues(v + "!") in a timestamped store join
//                         left-table -> mapped-join-out; groupBy(value) count -> count-out; groupBy("all") reduce
//                         (adder "+", subtractor "-") -> reduce-out
//   versioned-stream-tables  orders toTable (versioned) join left-table -> totable-join-out; orders groupByKey count
//                         (versioned store) -> count-out; left-table join users in a versioned store -> joined-out,
//                         its groupBy(value) count -> joined-count-out
//   versioned-fk-join     fk-left (versioned, value = a users key) join / leftJoin users (versioned) on the value
//                         -> fk-inner-out, fk-left-out

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Joined;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.Stores;

final class VersionedTopologies {
  private VersionedTopologies() {}

  static KTable<String, String> versionedUsers(StreamsBuilder b, Consumed<String, String> c) {
    return b.table(
        "users",
        c,
        Materialized.<String, String>as(
                Stores.persistentVersionedKeyValueStore("users-store", Duration.ofMillis(3000)))
            .withKeySerde(Serdes.String())
            .withValueSerde(Serdes.String()));
  }

  static <V> Materialized<String, V, org.apache.kafka.streams.state.KeyValueStore<org.apache.kafka.common.utils.Bytes, byte[]>>
      store(KeyValueBytesStoreSupplier supplier, org.apache.kafka.common.serialization.Serde<V> valueSerde) {
    return Materialized.<String, V>as(supplier).withKeySerde(Serdes.String()).withValueSerde(valueSerde);
  }

  static KeyValueBytesStoreSupplier versionedStore(String name) {
    return Stores.persistentVersionedKeyValueStore(name, Duration.ofMillis(3000));
  }

  static Map<String, StreamsOracle.Named> all() {
    Consumed<String, String> c = Consumed.with(Serdes.String(), Serdes.String());
    Produced<String, String> p = Produced.with(Serdes.String(), Serdes.String());
    Map<String, StreamsOracle.Named> m = new LinkedHashMap<>();
    m.put(
        "versioned-table",
        new StreamsOracle.Named(
            () -> {
              StreamsBuilder b = new StreamsBuilder();
              KStream<String, String> s = b.stream("orders", c);
              KTable<String, String> t = versionedUsers(b, c);
              t.toStream().to("table-out", p);
              s.join(t, JoinTopologies.JOINER).to("inner-out", p);
              s.leftJoin(t, JoinTopologies.JOINER).to("left-out", p);
              return b.build();
            },
            List.of("orders", "users"),
            JoinTopologies.strings("table-out", "inner-out", "left-out")));
    m.put(
        "versioned-grace-join",
        new StreamsOracle.Named(
            () -> {
              StreamsBuilder b = new StreamsBuilder();
              KStream<String, String> s = b.stream("orders", c);
              KTable<String, String> t = versionedUsers(b, c);
              s.join(t, JoinTopologies.JOINER, Joined.with(Serdes.String(), Serdes.String(), Serdes.String())
                      .withGracePeriod(Duration.ofMillis(500)))
                  .to("inner-out", p);
              s.leftJoin(
                      t.mapValues(v -> v + "!"),
                      JoinTopologies.JOINER,
                      Joined.with(Serdes.String(), Serdes.String(), Serdes.String())
                          .withGracePeriod(Duration.ofMillis(2000)))
                  .to("left-out", p);
              return b.build();
            },
            List.of("orders", "users"),
            JoinTopologies.strings("inner-out", "left-out")));
    m.put(
        "versioned-table-join",
        new StreamsOracle.Named(
            () -> {
              StreamsBuilder b = new StreamsBuilder();
              KTable<String, String> users = versionedUsers(b, c);
              KTable<String, String> other = b.table("left-table", c);
              users.join(other, JoinTopologies.JOINER).toStream().to("inner-out", p);
              other.leftJoin(users.mapValues(v -> v + "!"), JoinTopologies.JOINER).toStream().to("left-out", p);
              users.outerJoin(other, JoinTopologies.JOINER).toStream().to("outer-out", p);
              return b.build();
            },
            List.of("users", "left-table"),
            JoinTopologies.strings("inner-out", "left-out", "outer-out")));
    Grouped<String, String> g = Grouped.with(Serdes.String(), Serdes.String());
    m.put(
        "versioned-table-ops",
        new StreamsOracle.Named(
            () -> {
              StreamsBuilder b = new StreamsBuilder();
              KTable<String, String> users = versionedUsers(b, c);
              KTable<String, String> other = b.table("left-table", c);
              users.filter((k, v) -> !v.equals("b")).toStream().to("filter-out", p);
              users.filter((k, v) -> !v.equals("c"), store(versionedStore("filtered-store"), Serdes.String()))
                  .join(other, JoinTopologies.JOINER).toStream().to("filter-join-out", p);
              users.mapValues(v -> v + "!", store(Stores.inMemoryKeyValueStore("mapped-store"), Serdes.String()))
                  .join(other, JoinTopologies.JOINER).toStream().to("mapped-join-out", p);
              users.groupBy((k, v) -> KeyValue.pair(v, v), g)
                  .count(store(Stores.inMemoryKeyValueStore("count-store"), Serdes.Long()))
                  .toStream().mapValues(n -> String.valueOf(n)).to("count-out", p);
              users.groupBy((k, v) -> KeyValue.pair("all", v), g)
                  .reduce((agg, v) -> agg + "+" + v, (agg, v) -> agg + "-" + v,
                      store(Stores.inMemoryKeyValueStore("reduce-store"), Serdes.String()))
                  .toStream().to("reduce-out", p);
              return b.build();
            },
            List.of("users", "left-table"),
            JoinTopologies.strings("filter-out", "filter-join-out", "mapped-join-out", "count-out", "reduce-out")));
    m.put(
        "versioned-stream-tables",
        new StreamsOracle.Named(
            () -> {
              StreamsBuilder b = new StreamsBuilder();
              KStream<String, String> orders = b.stream("orders", c);
              KTable<String, String> users = versionedUsers(b, c);
              KTable<String, String> other = b.table("left-table", c);
              orders.toTable(store(versionedStore("totable-store"), Serdes.String()))
                  .join(other, JoinTopologies.JOINER).toStream().to("totable-join-out", p);
              orders.groupByKey(g).count(store(versionedStore("orders-count-store"), Serdes.Long()))
                  .toStream().mapValues(n -> String.valueOf(n)).to("count-out", p);
              KTable<String, String> joined =
                  other.join(users, JoinTopologies.JOINER, store(versionedStore("joined-store"), Serdes.String()));
              joined.toStream().to("joined-out", p);
              joined.groupBy((k, v) -> KeyValue.pair(v, v), g)
                  .count(store(Stores.inMemoryKeyValueStore("joined-count-store"), Serdes.Long()))
                  .toStream().mapValues(n -> String.valueOf(n)).to("joined-count-out", p);
              return b.build();
            },
            List.of("orders", "users", "left-table"),
            JoinTopologies.strings("totable-join-out", "count-out", "joined-out", "joined-count-out")));
    m.put(
        "versioned-fk-join",
        new StreamsOracle.Named(
            () -> {
              StreamsBuilder b = new StreamsBuilder();
              KTable<String, String> users = versionedUsers(b, c);
              KTable<String, String> left = b.table("fk-left", c,
                  store(versionedStore("fk-left-store"), Serdes.String()));
              left.join(users, v -> v, JoinTopologies.JOINER).toStream().to("fk-inner-out", p);
              left.leftJoin(users, v -> v, JoinTopologies.JOINER).toStream().to("fk-left-out", p);
              return b.build();
            },
            List.of("users", "fk-left"),
            JoinTopologies.strings("fk-inner-out", "fk-left-out")));
    return m;
  }
}
