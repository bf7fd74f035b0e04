// Pulse's Kafka users and ACLs on a broker, through the Admin API of kafka-clients (the broker's own jars):
//   java -cp '.local/kafka/libs/*' deploy/local/KafkaAccess.java BOOTSTRAP < spec
//   java -cp '.local/kafka/libs/*' deploy/local/KafkaAccess.java BOOTSTRAP --serve
// The spec (shared/kafka/access.py writes it) has one line per SCRAM-SHA-512 user, ACL or withdrawn resource:
//   user NAME PASSWORD
//   allow USER RESOURCE_TYPE PATTERN_TYPE RESOURCE_NAME OPERATION      e.g. allow pulse-returns TOPIC LITERAL returns WRITE
//   drop RESOURCE_TYPE PATTERN_TYPE RESOURCE_NAME                       every right on a resource that is gone
// Passwords come on standard input, never on a command line. Users and ACLs are upserts: running it again is
// harmless. A right the spec no longer gives is taken away: an ACL of a user the spec names, on a resource the
// spec names, that is not in the spec, is deleted (so a narrowed policy converges on a broker that had the old
// one). Only the spec's resources are read, so the cost does not grow with the rest of the broker's ACLs.
// With --serve it applies one spec per "apply" line, answering each with one line ("ok ..." or "error ...")
// on one Admin client: a test session pays the JVM's start once, not once per test's topics.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class KafkaAccess {
    public static void main(String[] args) throws Exception {
        Properties config = new Properties();
        config.put("bootstrap.servers", args[0]);
        boolean serve = args.length > 1 && args[1].equals("--serve");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        try (Admin admin = Admin.create(config)) {
            List<String> spec = new ArrayList<>();
            for (String line; (line = in.readLine()) != null; ) {
                if (serve && line.trim().equals("apply")) {
                    try {
                        System.out.println("ok " + apply(admin, spec));
                    } catch (Exception e) {
                        System.out.println("error " + String.valueOf(e).replace('\n', ' '));
                    }
                    System.out.flush();
                    spec.clear();
                } else {
                    spec.add(line);
                }
            }
            if (!serve) {
                System.out.println(apply(admin, spec));
            }
        }
    }

    /** The ACLs on `resources`: one describe per resource, all in flight at once. */
    static Set<AclBinding> describe(Admin admin, Set<ResourcePattern> resources) throws Exception {
        List<KafkaFuture<java.util.Collection<AclBinding>>> described = new ArrayList<>();
        for (ResourcePattern resource : resources) {
            described.add(admin.describeAcls(new AclBindingFilter(resource.toFilter(), AccessControlEntryFilter.ANY)).values());
        }
        Set<AclBinding> found = new HashSet<>();
        for (KafkaFuture<java.util.Collection<AclBinding>> future : described) {
            found.addAll(future.get());
        }
        return found;
    }

    static String apply(Admin admin, List<String> spec) throws Exception {
        List<UserScramCredentialAlteration> users = new ArrayList<>();
        List<AclBinding> acls = new ArrayList<>();
        Set<ResourcePattern> dropped = new LinkedHashSet<>();
        for (String line : spec) {
            String[] f = line.trim().split("\\s+");
            if (f[0].isEmpty() || f[0].startsWith("#")) {
                continue;
            }
            switch (f[0]) {
                case "user" -> users.add(new UserScramCredentialUpsertion(
                        f[1], new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), f[2]));
                case "allow" -> acls.add(new AclBinding(
                        new ResourcePattern(ResourceType.valueOf(f[2]), f[4], PatternType.valueOf(f[3])),
                        new AccessControlEntry("User:" + f[1], "*", AclOperation.valueOf(f[5]), AclPermissionType.ALLOW)));
                case "drop" -> dropped.add(new ResourcePattern(ResourceType.valueOf(f[1]), f[3], PatternType.valueOf(f[2])));
                default -> throw new IllegalArgumentException("not a spec line: " + line);
            }
        }
        if (!users.isEmpty()) {
            admin.alterUserScramCredentials(users).all().get();
        }
        if (!acls.isEmpty()) {
            admin.createAcls(acls).all().get();
        }
        Set<AclBinding> wanted = new HashSet<>(acls);
        Set<ResourcePattern> resources = new LinkedHashSet<>();
        Set<String> principals = new HashSet<>();
        for (AclBinding acl : acls) {
            resources.add(acl.pattern());
            principals.add(acl.entry().principal());
        }
        resources.addAll(dropped);
        Set<AclBinding> stale = new HashSet<>();
        for (AclBinding existing : describe(admin, resources)) {
            boolean gone = dropped.contains(existing.pattern());
            if (gone || principals.contains(existing.entry().principal()) && !wanted.contains(existing)) {
                stale.add(existing);
            }
        }
        if (!stale.isEmpty()) {
            admin.deleteAcls(stale.stream().map(AclBinding::toFilter).toList()).all().get();
        }
        // Done when the broker enforces it: a broker answers DescribeAcls from its own authorizer, which takes
        // a change from the metadata log a moment after the controller has committed it.
        long deadline = System.currentTimeMillis() + 30_000;
        for (Set<AclBinding> now = describe(admin, resources);
                !now.containsAll(wanted) || now.stream().anyMatch(stale::contains);
                now = describe(admin, resources)) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("the broker does not enforce the ACLs 30 s after they were applied");
            }
            Thread.sleep(20);
        }
        return users.size() + " users, " + acls.size() + " ACLs, " + stale.size() + " taken away";
    }
}
