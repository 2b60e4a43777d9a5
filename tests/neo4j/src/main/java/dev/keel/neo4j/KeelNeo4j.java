package dev.keel.neo4j;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilders;
import org.neo4j.io.ByteUnit;
import org.neo4j.server.configuration.ConfigurableServerModules;
import org.neo4j.server.configuration.ServerSettings;

/**
 * Keel's local/test Neo4j 5.26 Community server: a real in-process DBMS with the HTTP Query API,
 * authentication on, data persisted in a given directory, bound to 127.0.0.1 only.
 *
 * <p>Why a launcher instead of the Neo4j tarball: the tarball is not on a package registry, the
 * Maven Central harness is, and it runs the same kernel and web server.
 *
 * <p>Contract for callers (scripts, test harnesses): exactly one line {@code NEO4J_READY
 * http://127.0.0.1:PORT} on stdout once the Query API answers an authenticated query; everything
 * else goes to stderr. Runs until SIGTERM/SIGINT, or until stdin closes when started with
 * {@code --exit-on-stdin-eof}. Exit code 2 means bad arguments, 1 means start-up failed.
 */
public final class KeelNeo4j {
    /** The only user Community edition supports in practice; the proxy authenticates as it. */
    private static final String USER = "neo4j";
    /** Neo4j's default minimum password length; kept so local behaves like production. */
    private static final int MIN_PASSWORD_LENGTH = 8;
    /**
     * Upper bound for the Query API to answer after the DBMS reports started; generous because
     * the first query (driver set-up, Cypher compilation) took tens of seconds on 2 busy cores.
     */
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);
    /** Sub-directory for the harness's throw-away folder (it holds only neo4j.log). */
    private static final String HARNESS_DIR = "harness";

    private KeelNeo4j() {}

    /** Parsed command line; why: keeps main() readable and validation in one place. */
    private record Options(Path data, int port, String password, boolean exitOnStdinEof) {}

    /** Entry point; see the class comment for the contract. */
    public static void main(String[] args) {
        PrintStream stdout = System.out;
        // Anything Neo4j or its libraries print must not pollute the one-line stdout contract.
        System.setOut(System.err);
        Options options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("keel-neo4j: " + e.getMessage());
            System.err.println(
                    "usage: KeelNeo4j --data DIR --password PW [--port PORT] [--exit-on-stdin-eof]");
            System.exit(2);
            return;
        }
        try {
            run(options, stdout);
        } catch (Exception e) {
            System.err.println("keel-neo4j: start-up failed: " + e);
            e.printStackTrace(System.err);
            System.exit(1);
        }
    }

    private static Options parse(String[] args) {
        Path data = null;
        int port = 0;
        String password = System.getenv("KEEL_NEO4J_PASSWORD");
        boolean exitOnEof = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--data" -> data = Path.of(value(args, ++i, a));
                case "--port" -> {
                    String v = value(args, ++i, a);
                    try {
                        port = Integer.parseInt(v);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("--port: not a number: " + v);
                    }
                    if (port < 0 || port > 65535) {
                        throw new IllegalArgumentException("--port: out of range: " + port);
                    }
                }
                case "--password" -> password = value(args, ++i, a);
                case "--exit-on-stdin-eof" -> exitOnEof = true;
                default -> throw new IllegalArgumentException("unknown argument: " + a);
            }
        }
        if (data == null) {
            throw new IllegalArgumentException("--data is required");
        }
        if (password == null || password.isEmpty()) {
            throw new IllegalArgumentException("--password (or KEEL_NEO4J_PASSWORD) is required");
        }
        if (password.length() < MIN_PASSWORD_LENGTH) {
            throw new IllegalArgumentException(
                    "--password: Neo4j requires at least " + MIN_PASSWORD_LENGTH + " characters");
        }
        return new Options(data.toAbsolutePath().normalize(), port, password, exitOnEof);
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return args[i];
    }

    private static void run(Options o, PrintStream stdout) throws Exception {
        Files.createDirectories(o.data());
        Path harnessDir = o.data().resolve(HARNESS_DIR);
        removeStaleHarnessFolders(harnessDir);

        // The harness puts neo4j_home in a random sub-folder and deletes it on close; pointing
        // neo4j_home at the data directory itself is what makes the data survive restarts.
        Neo4j neo4j = Neo4jBuilders.newInProcessBuilder(harnessDir)
                .withConfig(GraphDatabaseSettings.neo4j_home, o.data())
                .withConfig(GraphDatabaseSettings.auth_enabled, true)
                .withConfig(GraphDatabaseSettings.udc_enabled, false)
                .withConfig(ServerSettings.allow_telemetry, false)
                .withConfig(GraphDatabaseSettings.default_listen_address, new SocketAddress("127.0.0.1"))
                .withConfig(HttpConnector.enabled, true)
                .withConfig(HttpConnector.listen_address, new SocketAddress("127.0.0.1", o.port()))
                .withConfig(HttpsConnector.enabled, false)
                .withConfig(ServerSettings.http_enabled_modules, EnumSet.allOf(ConfigurableServerModules.class))
                // The Query API talks to the kernel through the Bolt server's in-JVM "bolt-local"
                // channel: with Bolt disabled it answers 500 "Unable to connect to
                // http-driver.com:0". So Bolt stays on, loopback only, on a random port.
                .withConfig(BoltConnector.enabled, true)
                .withConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", 0))
                .withConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                // Bolt's default 5 s graceful waits (twice) made SIGTERM take ~13 s.
                .withConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofMillis(500))
                .withConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofMillis(500))
                .withConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(64))
                .withConfig(GraphDatabaseSettings.memory_transaction_global_max_size, ByteUnit.mebiBytes(256))
                .withConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .withConfig(GraphDatabaseSettings.logical_log_rotation_threshold, ByteUnit.mebiBytes(16))
                .build();

        AtomicBoolean closed = new AtomicBoolean(false);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (closed.compareAndSet(false, true)) {
                System.err.println("keel-neo4j: shutting down");
                try {
                    neo4j.close();
                } catch (RuntimeException e) {
                    System.err.println("keel-neo4j: shutdown error: " + e);
                }
                stopped.countDown();
            }
        }, "keel-neo4j-shutdown"));

        try {
            setPassword(neo4j, o.password());
            URI http = neo4j.httpURI();
            String base = "http://127.0.0.1:" + http.getPort();
            awaitQueryApi(base, o.password());
            stdout.println("NEO4J_READY " + base);
            stdout.flush();
        } catch (Exception e) {
            neo4j.printLogs(System.err);
            throw e;
        }

        if (o.exitOnStdinEof()) {
            Thread watcher = new Thread(KeelNeo4j::exitOnStdinEof, "keel-neo4j-stdin");
            watcher.setDaemon(true);
            watcher.start();
        }
        stopped.await();
    }

    /** Reads stdin until EOF, then exits; why: a parent that dies must not leave an orphan. */
    private static void exitOnStdinEof() {
        InputStream in = System.in;
        byte[] buf = new byte[256];
        try {
            while (in.read(buf) >= 0) {
                // Input is ignored; only its end matters.
            }
        } catch (IOException e) {
            System.err.println("keel-neo4j: stdin error, exiting: " + e);
        }
        System.err.println("keel-neo4j: stdin closed, exiting");
        System.exit(0);
    }

    /**
     * Sets the neo4j user's password without "change required". Why the system database: the
     * embedded API runs with full privileges, so no HTTP request with the default password is made.
     */
    private static void setPassword(Neo4j neo4j, String password) {
        GraphDatabaseService system =
                neo4j.databaseManagementService().database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME);
        try {
            system.executeTransactionally(
                    "ALTER USER " + USER + " SET PASSWORD $pw CHANGE NOT REQUIRED", Map.of("pw", password));
        } catch (RuntimeException e) {
            // A restart with the same password: Neo4j refuses to "change" it to itself, which is
            // exactly the state we want. Anything else is a real failure.
            if (!String.valueOf(e.getMessage()).contains("Old password and new password cannot be the same")) {
                throw e;
            }
        }
    }

    /** Polls an authenticated `RETURN 1` until the Query API answers 202, or fails on timeout. */
    private static void awaitQueryApi(String base, String password) throws Exception {
        HttpClient client = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(2))
                .build();
        String auth = Base64.getEncoder()
                .encodeToString((USER + ":" + password).getBytes(StandardCharsets.UTF_8));
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/db/neo4j/query/v2"))
                .timeout(Duration.ofSeconds(10))
                .header("Authorization", "Basic " + auth)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"statement\":\"RETURN 1 AS ok\"}"))
                .build();
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 202) {
                    return;
                }
                last = "HTTP " + r.statusCode() + ": " + r.body();
            } catch (IOException e) {
                last = e.toString();
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("Query API not ready after " + READY_TIMEOUT + ": " + last);
    }

    /** Removes harness folders left by a killed run (a clean close deletes its own). */
    private static void removeStaleHarnessFolders(Path harnessDir) throws IOException {
        if (!Files.isDirectory(harnessDir)) {
            return;
        }
        try (Stream<Path> children = Files.list(harnessDir)) {
            for (Path child : (Iterable<Path>) children::iterator) {
                if (child.getFileName().toString().matches("[0-9a-f]{32}")) {
                    deleteTree(child);
                }
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : (Iterable<Path>) walk.sorted((a, b) -> b.getNameCount() - a.getNameCount())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
