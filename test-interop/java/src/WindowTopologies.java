// Window and stream-stream join topologies for StreamsOracle (tributary's windows against Kafka Streams). String
// keys and values in; windowed results are written with the key "<key>@<start>/<end>" and Long counts.
//   window-tumbling-count   events, TimeWindows.ofSizeAndGrace(10, 5) count                      -> window-counts
//   window-hopping-count    events, TimeWindows.ofSizeAndGrace(10, 5).advanceBy(3) count         -> window-counts
//   window-sliding-count    events, SlidingWindows.ofTimeDifferenceAndGrace(10, 5) count          -> window-counts
//   window-session-count    events, SessionWindows.ofInactivityGapAndGrace(5, 5) count           -> window-counts
//   window-suppress         events, tumbling (10, grace 5) count, suppress(untilWindowCloses)    -> window-counts
//   ss-join                 left join / leftJoin / outerJoin right, JoinWindows (5, grace 5)      -> joined
//                           (the three joins write to one topic, the value says which: "i:", "l:", "o:")

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.SessionWindows;
import org.apache.kafka.streams.kstream.SlidingWindows;
import org.apache.kafka.streams.kstream.StreamJoined;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;

final class WindowTopologies {
  private WindowTopologies() {}

  static Duration ms(long n) {
    return Duration.ofMillis(n);
  }

  static String name(Windowed<String> w) {
    return w.key() + "@" + w.window().start() + "/" + w.window().end();
  }

  static StreamsOracle.Named counting(Function<KGroupedStream<String, String>, KTable<Windowed<String>, Long>> count) {
    return new StreamsOracle.Named(
        () -> {
          StreamsBuilder b = new StreamsBuilder();
          KGroupedStream<String, String> g =
              b.stream("events", Consumed.with(Serdes.String(), Serdes.String()))
                  .groupByKey(Grouped.with(Serdes.String(), Serdes.String()));
          count.apply(g)
              .toStream()
              .map((w, v) -> KeyValue.pair(name(w), v))
              .to("window-counts", Produced.with(Serdes.String(), Serdes.Long()));
          return b.build();
        },
        List.of("events"),
        Map.of("window-counts", Serdes.Long().deserializer()));
  }

  static Topology ssJoin() {
    StreamsBuilder b = new StreamsBuilder();
    Consumed<String, String> c = Consumed.with(Serdes.String(), Serdes.String());
    KStream<String, String> l = b.stream("left", c);
    KStream<String, String> r = b.stream("right", c);
    JoinWindows w = JoinWindows.ofTimeDifferenceAndGrace(ms(5), ms(5));
    StreamJoined<String, String, String> sj = StreamJoined.with(Serdes.String(), Serdes.String(), Serdes.String());
    Produced<String, String> p = Produced.with(Serdes.String(), Serdes.String());
    l.join(r, (a, x) -> "i:" + a + "+" + x, w, sj).to("joined", p);
    l.leftJoin(r, (a, x) -> "l:" + a + "+" + x, w, sj).to("joined", p);
    l.outerJoin(r, (a, x) -> "o:" + a + "+" + x, w, sj).to("joined", p);
    return b.build();
  }

  static Map<String, StreamsOracle.Named> all() {
    Map<String, StreamsOracle.Named> m = new LinkedHashMap<>();
    m.put("window-tumbling-count", counting(g -> g.windowedBy(TimeWindows.ofSizeAndGrace(ms(10), ms(5))).count()));
    m.put(
        "window-hopping-count",
        counting(g -> g.windowedBy(TimeWindows.ofSizeAndGrace(ms(10), ms(5)).advanceBy(ms(3))).count()));
    m.put(
        "window-sliding-count",
        counting(g -> g.windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(ms(10), ms(5))).count()));
    m.put(
        "window-session-count",
        counting(g -> g.windowedBy(SessionWindows.ofInactivityGapAndGrace(ms(5), ms(5))).count()));
    m.put(
        "window-suppress",
        counting(
            g ->
                g.windowedBy(TimeWindows.ofSizeAndGrace(ms(10), ms(5)))
                    .count()
                    .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))));
    m.put(
        "ss-join",
        new StreamsOracle.Named(
            WindowTopologies::ssJoin,
            List.of("left", "right"),
            Map.of("joined", Serdes.String().deserializer())));
    return m;
  }
}
