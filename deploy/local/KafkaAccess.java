// Pulse's Kafka users and ACLs on a broker, through the Admin API of kafka-clients (the broker's own jars):
//   java -cp '.local/kafka/libs/*' deploy/local/KafkaAccess.java BOOTSTRAP < spec
// The spec (shared/kafka/access.py writes it) has one line per SCRAM-SHA-512 user or ACL:
//   user NAME PASSWORD
//   allow USER RESOURCE_TYPE PATTERN_TYPE RESOURCE_NAME OPERATION      e.g. allow pulse-returns TOPIC LITERAL returns WRITE
// Passwords come on standard input, never on a command line. Both kinds are upserts: running it again is harmless.
// A right the spec no longer gives is taken away: an ACL of a user the spec names, on a resource the spec
// names, that is not in the spec, is deleted (so a narrowed policy converges on a broker that had the old one).
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
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
        List<UserScramCredentialAlteration> users = new ArrayList<>();
        List<AclBinding> acls = new ArrayList<>();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        for (String line; (line = in.readLine()) != null; ) {
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
                default -> throw new IllegalArgumentException("not a spec line: " + line);
            }
        }
        try (Admin admin = Admin.create(config)) {
            if (!users.isEmpty()) {
                admin.alterUserScramCredentials(users).all().get();
            }
            if (!acls.isEmpty()) {
                admin.createAcls(acls).all().get();
            }
            Set<AclBinding> wanted = new HashSet<>(acls);
            Set<ResourcePattern> resources = new HashSet<>();
            Set<String> principals = new HashSet<>();
            for (AclBinding acl : acls) {
                resources.add(acl.pattern());
                principals.add(acl.entry().principal());
            }
            List<AclBindingFilter> stale = new ArrayList<>();
            for (AclBinding existing : admin.describeAcls(AclBindingFilter.ANY).values().get()) {
                if (principals.contains(existing.entry().principal()) && resources.contains(existing.pattern())
                        && !wanted.contains(existing)) {
                    stale.add(existing.toFilter());
                }
            }
            if (!stale.isEmpty()) {
                admin.deleteAcls(stale).all().get();
            }
            System.out.println(users.size() + " users, " + acls.size() + " ACLs, " + stale.size() + " taken away");
        }
    }
}
