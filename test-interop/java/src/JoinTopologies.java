// Join topologies for StreamsOracle (tributary's streams joins against Kafka Streams). All String keys and values;
// the joiner writes "[left,right]" so nulls show.
//   stream-table-join       orders (stream) join / leftJoin users (table)         -> inner-out, left-out
//   table-table-join        left-table join / leftJoin / outerJoin right-table     -> inner-out, left-out, outer-out
//   fk-join                 orders (table, value "<product>:<n>") join / leftJoin products (table) on the product
//                           -> fk-inner-out, fk-left-out
//   rekey-global-join       clicks (value "<user>:<page>") re-keyed by user leftJoin users (repartitioned), and clicks
//                           join / leftJoin the global table regions by key (null key when the value ends with "!")
//                           -> rekey-out, global-inner-out, global-left-out
//   self-join               left-table join / outerJoin itself, orders (stream) leftJoin left-table
//                           -> inner-out, outer-out, left-out

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.GlobalKTable;
import org.apache.kafka.streams.kstream.Joined;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.ValueJoiner;

final class JoinTopologies {
  private JoinTopologies() {}

  static final ValueJoiner<String, String, String> JOINER = (l, r) -> "[" + l + "," + r + "]";

  static String foreignKey(String v) {
    int i = v.indexOf(':');
    String fk = i < 0 ? v : v.substring(0, i);
    return fk.isEmpty() ? null : fk;
  }

  static Map<String, Deserializer<?>> strings(String... topics) {
    Map<String, Deserializer<?>> m = new LinkedHashMap<>();
    for (String t : topics) m.put(t, Serdes.String().deserializer());
    return m;
  }

  static Map<String, StreamsOracle.Named> all() {
    Consumed<String, String> c = Consumed.with(Serdes.String(), Serdes.String());
    Produced<String, String> p = Produced.with(Serdes.String(), Serdes.String());
    Map<String, StreamsOracle.Named> m = new LinkedHashMap<>();
    m.put(
        "stream-table-join",
        new StreamsOracle.Named(
            () -> {
              StreamsBuilder b = new StreamsBuilder();
              KStream<String, String> s = b.stream("orders", c);
              KTable<String, String> t = b.table("users", c);
              s.join(t, JOINER).to("inner-out", p);
              s.leftJoin(t, JOINER).to("left-out", p);
              return b.build();
            },
            List.of("orders", "users"),
            strings("inner-out", "left-out")));
    m.put(
        "table-table-join",
        new StreamsOracle.Named(
            () -> {
              StreamsBuilder b = new StreamsBuilder();
              KTable<String, String> l = b.table("left-table", c);
              KTable<String, String> r = b.table("right-table", c);
              l.join(r, JOINER).toStream().to("inner-out", p);
              l.leftJoin(r, JOINER).toStream().to("left-out", p);
              l.outerJoin(r, JOINER).toStream().to("outer-out", p);
              return b.build();
            },
            List.of("left-table", "right-table"),
            strings("inner-out", "left-out", "outer-out")));
    m.put(
        "fk-join",
        new StreamsOracle.Named(
            () -> {
              StreamsBuilder b = new StreamsBuilder();
              KTable<String, String> orders = b.table("orders", c);
              KTable<String, String> products = b.table("products", c);
              orders.join(products, JoinTopologies::foreignKey, JOINER).toStream().to("fk-inner-out", p);
              orders.leftJoin(products, JoinTopologies::foreignKey, JOINER).toStream().to("fk-left-out", p);
              return b.build();
            },
            List.of("orders", "products"),
            strings("fk-inner-out", "fk-left-out")));
    m.put(
        "self-join",
        new StreamsOracle.Named(
            () -> {
              StreamsBuilder b = new StreamsBuilder();
              KTable<String, String> t = b.table("left-table", c);
              t.join(t, JOINER).toStream().to("inner-out", p);
              t.outerJoin(t, JOINER).toStream().to("outer-out", p);
              b.stream("orders", c).leftJoin(t, JOINER).to("left-out", p);
              return b.build();
            },
            List.of("left-table", "orders"),
            strings("inner-out", "outer-out", "left-out")));
    m.put(
        "self-join",
        new StreamsOracle.Named(
            () -> {
              StreamsBuilder b = new StreamsBuilder();
              KTable<String, String> t = b.table("left-table", c);
              t.join(t, JOINER).toStream().to("inner-out", p);
              t.outerJoin(t, JOINER).toStream().to("outer-out", p);
              b.stream("orders", c).leftJoin(t, JOINER).to("left-out", p);
              return b.build();
            },
            List.of("left-table", "orders"),
            strings("inner-out", "outer-out", "left-out")));
    m.put(
        "rekey-global-join",
        new StreamsOracle.Named(
            () -> {
              StreamsBuilder b = new StreamsBuilder();
              KTable<String, String> users = b.table("users", c);
              GlobalKTable<String, String> regions = b.globalTable("regions", c);
              KStream<String, String> clicks = b.stream("clicks", c);
              // value "<user>:<page>": re-keyed by user, so repartitioned before the stream-table join
              clicks
                  .selectKey((k, v) -> v.substring(0, v.indexOf(':')))
                  .leftJoin(users, JOINER, Joined.with(Serdes.String(), Serdes.String(), Serdes.String(), "by-user"))
                  .to("rekey-out", p);
              clicks.join(regions, (k, v) -> v.endsWith("!") ? null : k, JOINER).to("global-inner-out", p);
              clicks.leftJoin(regions, (k, v) -> v.endsWith("!") ? null : k, JOINER).to("global-left-out", p);
              return b.build();
            },
            List.of("users", "regions", "clicks"),
            strings("rekey-out", "global-inner-out", "global-left-out")));
    return m;
  }
}
