// Versioned-table topologies for StreamsOracle (tributary's versioned tables and grace joins against Kafka
// Streams). All String keys and values; the joiner writes "[left,right]" so nulls show.
//   versioned-table       users: versioned table (history 3000 ms) -> toStream -> table-out; orders (stream)
//                         join / leftJoin users, no grace -> inner-out, left-out
//   versioned-grace-join  orders join users (grace 500 ms) -> inner-out; orders leftJoin users.mapValues(v + "!")
//                         (grace 2000 ms) -> left-out; users versioned (history 3000 ms)
//   versioned-table-join  users (versioned) join / outerJoin left-table; left-table leftJoin users.mapValues(v + "!")
//                         -> inner-out, left-out, outer-out (out-of-order versioned updates are dropped)

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Joined;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
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
    return m;
  }
}
