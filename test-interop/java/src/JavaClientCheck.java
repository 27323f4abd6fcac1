// Interoperability check of a Kafka-compatible broker against the Java Kafka client (kafka-clients 4.x, resolved
// by Maven through test-interop/java/pom.xml). Run by test-interop/java-client.test.ts against Tributary, and
// against Apache Kafka by `npm run test:kafka` (a check of the check). By hand:
//   (cd test-interop/java && mvn -q -o compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt)
//   java -cp "test-interop/java/target/classes:$(cat test-interop/java/target/classpath.txt)" JavaClientCheck <bootstrap>
// Prints one line per check; exits 1 if any check failed. See docs/broker/compatibility.md.

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.*;

public class JavaClientCheck {
  interface Check {
    void run() throws Exception;
  }

  static String bootstrap;
  static final String RUN = Long.toString(System.currentTimeMillis(), 36);
  static int failures = 0;

  static void check(String name, Check body) {
    long start = System.nanoTime();
    try {
      body.run();
      System.out.printf("PASS %-60s %5d ms%n", name, (System.nanoTime() - start) / 1_000_000);
    } catch (Throwable e) {
      failures++;
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      System.out.printf("FAIL %-60s %s: %s%n", name, cause.getClass().getName(), cause.getMessage());
    }
    System.out.flush();
  }

  static void expect(boolean ok, String message) {
    if (!ok) throw new AssertionError(message);
  }

  static <T> void expectEq(T expected, T actual, String what) {
    if (!Objects.equals(expected, actual)) throw new AssertionError(what + ": expected " + expected + ", got " + actual);
  }

  static Properties common() {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("request.timeout.ms", "15000");
    p.put("default.api.timeout.ms", "30000");
    return p;
  }

  static KafkaProducer<String, String> producer(Properties extra) {
    Properties p = common();
    p.put("acks", "all");
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    p.put("linger.ms", "5");
    p.put("delivery.timeout.ms", "30000");
    p.putAll(extra);
    return new KafkaProducer<>(p);
  }

  static KafkaConsumer<String, String> consumer(Properties extra) {
    Properties p = common();
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    p.put("enable.auto.commit", "false");
    p.put("auto.offset.reset", "earliest");
    p.putAll(extra);
    return new KafkaConsumer<>(p);
  }

  /**
   * Kafka answers CreateTopics when its controller committed the topic; its broker leads the partitions a moment
   * later. Until then a produce gets NOT_LEADER_OR_FOLLOWER, and with Kafka 4.1 an idempotent producer retrying
   * such a first batch was seen stuck on OUT_OF_ORDER_SEQUENCE_NUMBER. So wait until every partition answers a
   * ListOffsets (served by the leader only) before using a new topic.
   */
  static void awaitLeaders(Admin admin, String topic, int partitions) throws Exception {
    Map<TopicPartition, OffsetSpec> specs = new HashMap<>();
    for (int i = 0; i < partitions; i++) specs.put(new TopicPartition(topic, i), OffsetSpec.latest());
    long deadline = System.currentTimeMillis() + 30_000;
    for (;;) {
      try {
        admin.listOffsets(specs).all().get();
        return;
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof RetriableException) || System.currentTimeMillis() > deadline) throw e;
        Thread.sleep(50);
      }
    }
  }

  /** The described value of `name`, once it equals `expected` or after 15 s. */
  static String describedEventually(Admin admin, ConfigResource res, String name, String expected) throws Exception {
    long deadline = System.currentTimeMillis() + 15_000;
    for (;;) {
      String value = admin.describeConfigs(List.of(res)).all().get().get(res).get(name).value();
      if (expected.equals(value) || System.currentTimeMillis() > deadline) return value;
      Thread.sleep(50);
    }
  }

  static Properties props(String... kv) {
    Properties p = new Properties();
    for (int i = 0; i < kv.length; i += 2) p.put(kv[i], kv[i + 1]);
    return p;
  }

  static String header(ConsumerRecord<String, String> r, String key) {
    Header h = r.headers().lastHeader(key);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  /** Reads from assigned partitions until `count` records arrived or the deadline passes. */
  static List<ConsumerRecord<String, String>> drain(KafkaConsumer<String, String> c, int count, long timeoutMs) {
    List<ConsumerRecord<String, String>> out = new ArrayList<>();
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (out.size() < count && System.currentTimeMillis() < deadline) {
      for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) out.add(r);
    }
    return out;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: java -cp <kafka-clients classpath> JavaClientCheck.java <host:port>");
      System.exit(2);
    }
    bootstrap = args[0];
    System.out.println("kafka-clients " + AppInfoVersion.get() + " against " + bootstrap);
    try (Admin admin = Admin.create(common())) {
      adminChecks(admin);
      producerConsumerChecks(admin);
      groupChecks(admin);
      transactionChecks(admin);
      groupAdminChecks(admin);
      check("admin deleteTopics", () -> {
        List<String> names = new ArrayList<>();
        for (String n : admin.listTopics().names().get()) if (n.contains(RUN)) names.add(n);
        admin.deleteTopics(names).all().get();
        long deadline = System.currentTimeMillis() + 10_000;
        Set<String> left;
        do {
          left = new HashSet<>(admin.listTopics().names().get());
          left.retainAll(names);
        } while (!left.isEmpty() && System.currentTimeMillis() < deadline);
        expect(left.isEmpty(), "topics still listed after delete: " + left);
      });
    }
    System.out.println(failures == 0 ? "ALL CHECKS PASSED" : failures + " CHECK(S) FAILED");
    System.exit(failures == 0 ? 0 : 1);
  }

  static final class AppInfoVersion {
    static String get() {
      return org.apache.kafka.common.utils.AppInfoParser.getVersion();
    }
  }

  static final String ADMIN_TOPIC = "java-admin-" + RUN;

  static void adminChecks(Admin admin) {
    check("admin describeCluster", () -> {
      DescribeClusterResult r = admin.describeCluster();
      Collection<Node> nodes = r.nodes().get();
      expect(!nodes.isEmpty(), "no nodes");
      expect(r.controller().get() != null, "no controller");
      expect(r.clusterId().get() != null, "no cluster id");
    });
    check("admin createTopics validateOnly", () -> {
      String name = "java-validate-" + RUN;
      admin.createTopics(List.of(new NewTopic(name, 3, (short) 1)), new CreateTopicsOptions().validateOnly(true)).all().get();
      expect(!admin.listTopics().names().get().contains(name), "validateOnly created the topic");
    });
    check("admin createTopics", () -> {
      NewTopic t = new NewTopic(ADMIN_TOPIC, 2, (short) 1).configs(Map.of("retention.ms", "3600000"));
      CreateTopicsResult r = admin.createTopics(List.of(t));
      r.all().get();
      expectEq(2, r.numPartitions(ADMIN_TOPIC).get(), "partitions");
      awaitLeaders(admin, ADMIN_TOPIC, 2);
      try {
        admin.createTopics(List.of(new NewTopic(ADMIN_TOPIC, 2, (short) 1))).all().get();
        throw new AssertionError("second create succeeded");
      } catch (ExecutionException e) {
        expect(e.getCause() instanceof org.apache.kafka.common.errors.TopicExistsException, "expected TopicExists, got " + e.getCause());
      }
    });
    check("admin listTopics", () -> {
      expect(admin.listTopics().names().get().contains(ADMIN_TOPIC), "topic not listed");
    });
    check("admin describeTopics", () -> {
      TopicDescription d = admin.describeTopics(List.of(ADMIN_TOPIC)).allTopicNames().get().get(ADMIN_TOPIC);
      expectEq(2, d.partitions().size(), "partitions");
      expect(d.partitions().get(0).leader() != null, "no leader");
      expect(d.topicId() != null && !d.topicId().equals(Uuid.ZERO_UUID), "no topic id");
    });
    ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, ADMIN_TOPIC);
    check("admin describeConfigs", () -> {
      Config c = admin.describeConfigs(List.of(res)).all().get().get(res);
      expectEq("3600000", c.get("retention.ms").value(), "retention.ms");
      expect(c.get("cleanup.policy") != null, "cleanup.policy missing");
    });
    check("admin incrementalAlterConfigs", () -> {
      admin.incrementalAlterConfigs(Map.of(res, List.of(
        new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET)))).all().get();
      // Kafka's brokers apply a change from the metadata log a moment after the controller answered it.
      expectEq("7200000", describedEventually(admin, res, "retention.ms", "7200000"), "retention.ms after alter");
      admin.incrementalAlterConfigs(Map.of(res, List.of(
        new AlterConfigOp(new ConfigEntry("retention.ms", ""), AlterConfigOp.OpType.DELETE)))).all().get();
      expectEq("604800000", describedEventually(admin, res, "retention.ms", "604800000"), "retention.ms reset to the default");
    });
    check("admin createPartitions", () -> {
      admin.createPartitions(Map.of(ADMIN_TOPIC, NewPartitions.increaseTo(4))).all().get();
      awaitLeaders(admin, ADMIN_TOPIC, 4);
      TopicDescription d = admin.describeTopics(List.of(ADMIN_TOPIC)).allTopicNames().get().get(ADMIN_TOPIC);
      expectEq(4, d.partitions().size(), "partitions after increase");
    });
    check("admin listOffsets earliest/latest/timestamp + deleteRecords", () -> {
      TopicPartition tp = new TopicPartition(ADMIN_TOPIC, 0);
      long base = System.currentTimeMillis() - 100_000;
      try (KafkaProducer<String, String> p = producer(new Properties())) {
        for (int i = 0; i < 10; i++) p.send(new ProducerRecord<>(ADMIN_TOPIC, 0, base + i * 1000L, "k" + i, "v" + i)).get();
      }
      expectEq(0L, admin.listOffsets(Map.of(tp, OffsetSpec.earliest())).partitionResult(tp).get().offset(), "earliest");
      expectEq(10L, admin.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp).get().offset(), "latest");
      ListOffsetsResult.ListOffsetsResultInfo at =
        admin.listOffsets(Map.of(tp, OffsetSpec.forTimestamp(base + 4500))).partitionResult(tp).get();
      expectEq(5L, at.offset(), "offset for timestamp");
      expectEq(base + 5000, at.timestamp(), "timestamp for timestamp");
      ListOffsetsResult.ListOffsetsResultInfo max =
        admin.listOffsets(Map.of(tp, OffsetSpec.maxTimestamp())).partitionResult(tp).get();
      expectEq(9L, max.offset(), "offset for max timestamp");
      DeletedRecords dr = admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(tp).get();
      expectEq(4L, dr.lowWatermark(), "low watermark");
      expectEq(4L, admin.listOffsets(Map.of(tp, OffsetSpec.earliest())).partitionResult(tp).get().offset(), "earliest after delete");
    });
  }

  static void producerConsumerChecks(Admin admin) throws Exception {
    for (String codec : List.of("none", "gzip", "snappy", "lz4", "zstd")) {
      String topic = "java-codec-" + codec + "-" + RUN;
      check("producer+consumer compression=" + codec, () -> {
        admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        awaitLeaders(admin, topic, 1);
        int n = 50;
        long ts = System.currentTimeMillis() - 5000;
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        try (KafkaProducer<String, String> p = producer(props("compression.type", codec))) {
          expect(p.metrics().keySet().stream().anyMatch(m -> m.name().equals("record-send-rate")), "producer metrics");
          for (int i = 0; i < n; i++) {
            ProducerRecord<String, String> r = new ProducerRecord<>(topic, 0, ts + i, "key-" + i, "value-" + codec + "-" + i);
            r.headers().add("h-index", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
            r.headers().add("h-codec", codec.getBytes(StandardCharsets.UTF_8));
            futures.add(p.send(r));
          }
          p.flush();
          for (int i = 0; i < n; i++) expectEq((long) i, futures.get(i).get().offset(), "offset of send " + i);
        }
        TopicPartition tp = new TopicPartition(topic, 0);
        try (KafkaConsumer<String, String> c = consumer(new Properties())) {
          c.assign(List.of(tp));
          c.seek(tp, 10);
          List<ConsumerRecord<String, String>> got = drain(c, n - 10, 15_000);
          expectEq(n - 10, got.size(), "records read after seek(10)");
          for (int j = 0; j < got.size(); j++) {
            int i = j + 10;
            ConsumerRecord<String, String> r = got.get(j);
            expectEq((long) i, r.offset(), "offset");
            expectEq("key-" + i, r.key(), "key");
            expectEq("value-" + codec + "-" + i, r.value(), "value");
            expectEq(ts + i, r.timestamp(), "timestamp");
            expectEq(Integer.toString(i), header(r, "h-index"), "header h-index");
            expectEq(codec, header(r, "h-codec"), "header h-codec");
          }
          Map<TopicPartition, OffsetAndTimestamp> ot = c.offsetsForTimes(Map.of(tp, ts + 20));
          expectEq(20L, ot.get(tp).offset(), "offsetsForTimes");
          expectEq(0L, c.beginningOffsets(List.of(tp)).get(tp), "beginningOffsets");
          expectEq((long) n, c.endOffsets(List.of(tp)).get(tp), "endOffsets");
        }
      });
    }
  }

  static final String GROUP_TOPIC = "java-group-" + RUN;

  static void groupChecks(Admin admin) throws Exception {
    // One topic per assignor, so each new group (starting at earliest) sees only its own records.
    for (String assignor : List.of("range", "coop")) {
      String topic = GROUP_TOPIC + "-" + assignor;
      String group = "java-group-" + assignor + "-" + RUN;
      String strategy = assignor.equals("range") ? RangeAssignor.class.getName() : CooperativeStickyAssignor.class.getName();
      check("group of two consumers, " + assignor + ", commitSync, restart resumes", () -> {
        admin.createTopics(List.of(new NewTopic(topic, 4, (short) 1))).all().get();
        awaitLeaders(admin, topic, 4);
        groupRound(admin, topic, group, strategy);
      });
    }
  }

  static void groupRound(Admin admin, String topic, String group, String strategy) throws Exception {
    int n = 200;
    Properties gp = props("group.id", group, "partition.assignment.strategy", strategy, "session.timeout.ms", "10000",
      "heartbeat.interval.ms", "500", "max.poll.records", "20");
    Map<String, Integer> seen = new ConcurrentHashMap<>();
    // Per consumer: the partitions it got records from, the partitions it owns now, those it gave up (revoked).
    List<Set<Integer>> parts = List.of(ConcurrentHashMap.newKeySet(), ConcurrentHashMap.newKeySet());
    List<Set<Integer>> owned = List.of(ConcurrentHashMap.newKeySet(), ConcurrentHashMap.newKeySet());
    List<Set<Integer>> revoked = List.of(ConcurrentHashMap.newKeySet(), ConcurrentHashMap.newKeySet());
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    List<Future<?>> workers = new ArrayList<>();
    // The second consumer joins once the first owns every partition, and the records are produced only once the
    // group has settled with both assigned: otherwise whichever consumer joins first may drain them all alone
    // (as on any broker when the other one starts late).
    Set<Integer> movedToSecond = new TreeSet<>();
    Set<Integer> firstGaveUp = new TreeSet<>();
    try {
      for (int i = 0; i < 2; i++) {
        Set<Integer> mine = parts.get(i);
        Set<Integer> own = owned.get(i);
        Set<Integer> gaveUp = revoked.get(i);
        ConsumerRebalanceListener listener = new ConsumerRebalanceListener() {
          public void onPartitionsAssigned(Collection<TopicPartition> ps) {
            for (TopicPartition tp : ps) own.add(tp.partition());
          }
          public void onPartitionsRevoked(Collection<TopicPartition> ps) {
            for (TopicPartition tp : ps) {
              own.remove(tp.partition());
              gaveUp.add(tp.partition());
            }
          }
          public void onPartitionsLost(Collection<TopicPartition> ps) {
            for (TopicPartition tp : ps) own.remove(tp.partition());
          }
        };
        workers.add(pool.submit(() -> {
          try (KafkaConsumer<String, String> c = consumer(gp)) {
            c.subscribe(List.of(topic), listener);
            while (!stop.get()) {
              ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(200));
              for (ConsumerRecord<String, String> r : rs) {
                seen.merge(r.value(), 1, Integer::sum);
                mine.add(r.partition());
              }
              if (!rs.isEmpty()) c.commitSync();
            }
            c.commitSync();
          }
          return null;
        }));
        if (i == 0) awaitWhile(workers, () -> owned.get(0).size() < 4, 30_000, () -> "first consumer owns " + owned);
      }
      awaitWhile(workers, () -> owned.get(0).isEmpty() || owned.get(1).isEmpty()
        || owned.get(0).size() + owned.get(1).size() != 4, 30_000, () -> "both consumers assigned: " + owned);
      // Taken now: closing a consumer revokes whatever it still owns.
      movedToSecond.addAll(owned.get(1));
      firstGaveUp.addAll(revoked.get(0));
      try (KafkaProducer<String, String> p = producer(new Properties())) {
        for (int i = 0; i < n; i++) p.send(new ProducerRecord<>(topic, "k" + i, "v" + i));
        p.flush();
      }
      long deadline = System.currentTimeMillis() + 40_000;
      while (seen.size() < n && System.currentTimeMillis() < deadline) Thread.sleep(100);
      stop.set(true);
      for (Future<?> w : workers) w.get(30, TimeUnit.SECONDS);
    } finally {
      stop.set(true);
      pool.shutdown();
    }
    if (strategy.equals(CooperativeStickyAssignor.class.getName())) {
      expectEq(movedToSecond, firstGaveUp, "partitions the first consumer gave up (cooperative: only those moved)");
    }
    expectEq(n, seen.size(), "distinct records consumed");
    for (Map.Entry<String, Integer> e : seen.entrySet()) expectEq(1, e.getValue(), "times " + e.getKey() + " was consumed");
    expect(!parts.get(0).isEmpty() && !parts.get(1).isEmpty(), "one consumer got nothing: " + parts);
    Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
    long total = 0;
    for (OffsetAndMetadata o : committed.values()) total += o.offset();
    expectEq((long) n, total, "sum of committed offsets");

    try (KafkaProducer<String, String> p = producer(new Properties())) {
      for (int i = 0; i < 8; i++) p.send(new ProducerRecord<>(topic, "k" + i, "after-restart-" + i));
      p.flush();
    }
    try (KafkaConsumer<String, String> c = consumer(gp)) {
      c.subscribe(List.of(topic));
      List<ConsumerRecord<String, String>> got = drain(c, 8, 20_000);
      got.addAll(drain(c, 1, 1_000));
      expectEq(8, got.size(), "records after restart");
      for (ConsumerRecord<String, String> r : got) expect(r.value().startsWith("after-restart-"), "old record redelivered: " + r.value());
      c.commitSync();
    }
  }

  /** Waits (polling) while `pending` holds; fails with `what` after `timeoutMs`, or at once if a worker failed. */
  static void awaitWhile(List<Future<?>> workers, java.util.function.BooleanSupplier pending, long timeoutMs,
      java.util.function.Supplier<String> what) throws Exception {
    long deadline = System.currentTimeMillis() + timeoutMs;
    while (pending.getAsBoolean()) {
      for (Future<?> w : workers) if (w.isDone()) w.get();
      if (System.currentTimeMillis() > deadline) throw new AssertionError("timed out waiting: " + what.get());
      Thread.sleep(50);
    }
  }

  static void transactionChecks(Admin admin) {
    String in = "java-txn-in-" + RUN;
    String out = "java-txn-out-" + RUN;
    String group = "java-txn-group-" + RUN;
    check("transactions commit/abort, sendOffsetsToTransaction, isolation levels", () -> {
      admin.createTopics(List.of(new NewTopic(in, 1, (short) 1), new NewTopic(out, 1, (short) 1))).all().get();
      awaitLeaders(admin, in, 1);
      awaitLeaders(admin, out, 1);
      try (KafkaProducer<String, String> p = producer(new Properties())) {
        for (int i = 0; i < 5; i++) p.send(new ProducerRecord<>(in, 0, "k" + i, "in-" + i));
        p.flush();
      }
      try (KafkaProducer<String, String> tp = producer(props("transactional.id", "java-txn-" + RUN))) {
        tp.initTransactions();
        tp.beginTransaction();
        for (int i = 0; i < 3; i++) tp.send(new ProducerRecord<>(out, 0, "k" + i, "committed-" + i));
        tp.sendOffsetsToTransaction(Map.of(new TopicPartition(in, 0), new OffsetAndMetadata(5)), new ConsumerGroupMetadata(group));
        tp.commitTransaction();
        tp.beginTransaction();
        for (int i = 0; i < 2; i++) tp.send(new ProducerRecord<>(out, 0, "k" + i, "aborted-" + i));
        tp.flush();
        tp.abortTransaction();
        tp.beginTransaction();
        tp.send(new ProducerRecord<>(out, 0, "k", "committed-3"));
        tp.commitTransaction();
      }
      TopicPartition otp = new TopicPartition(out, 0);
      expectEq(List.of("committed-0", "committed-1", "committed-2", "committed-3"),
        valuesFromStart(otp, "read_committed", 4), "read_committed values");
      expectEq(List.of("committed-0", "committed-1", "committed-2", "aborted-0", "aborted-1", "committed-3"),
        valuesFromStart(otp, "read_uncommitted", 6), "read_uncommitted values");
      Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      expectEq(5L, committed.get(new TopicPartition(in, 0)).offset(), "offset committed by the transaction");
    });
  }

  /** Values of one partition from its start with the given isolation level: `expected` of them, then no more. */
  static List<String> valuesFromStart(TopicPartition tp, String isolation, int expected) throws Exception {
    try (KafkaConsumer<String, String> c = consumer(props("isolation.level", isolation))) {
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      List<ConsumerRecord<String, String>> got = drain(c, expected, 15_000);
      got.addAll(drain(c, 1, 1_000));
      List<String> values = new ArrayList<>();
      for (ConsumerRecord<String, String> r : got) values.add(r.value());
      return values;
    }
  }

  static void groupAdminChecks(Admin admin) {
    String group = "java-group-coop-" + RUN;
    check("admin listConsumerGroups", () -> {
      Set<String> ids = new HashSet<>();
      for (ConsumerGroupListing l : admin.listConsumerGroups().all().get()) ids.add(l.groupId());
      expect(ids.contains(group), "group " + group + " not listed in " + ids);
    });
    check("admin describeConsumerGroups (empty group, then with a member)", () -> {
      ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
      expectEq(ConsumerGroupState.EMPTY, d.state(), "state");
      expect(d.members().isEmpty(), "members of empty group");
      String live = "java-live-" + RUN;
      try (KafkaConsumer<String, String> c = consumer(props("group.id", live))) {
        c.subscribe(List.of(GROUP_TOPIC + "-coop"));
        long deadline = System.currentTimeMillis() + 15_000;
        while (c.assignment().isEmpty() && System.currentTimeMillis() < deadline) c.poll(Duration.ofMillis(200));
        ConsumerGroupDescription ld = admin.describeConsumerGroups(List.of(live)).all().get().get(live);
        expectEq(ConsumerGroupState.STABLE, ld.state(), "live group state");
        expectEq(1, ld.members().size(), "live members");
        expectEq(4, ld.members().iterator().next().assignment().topicPartitions().size(), "live member assignment");
      }
    });
    check("admin listConsumerGroupOffsets", () -> {
      Map<TopicPartition, OffsetAndMetadata> m = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      expectEq(4, m.size(), "committed partitions");
    });
    check("admin deleteConsumerGroups", () -> {
      admin.deleteConsumerGroups(List.of(group)).all().get();
      Set<String> ids = new HashSet<>();
      for (ConsumerGroupListing l : admin.listConsumerGroups().all().get()) ids.add(l.groupId());
      expect(!ids.contains(group), "group still listed after delete");
    });
  }
}
