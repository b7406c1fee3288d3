import Foundation

/// Real users and groups for the authorization tests (useradd/groupadd), created once per run.
enum TestUsers {
    static let adminGroup = "steward-admin"
    static let observerGroup = "steward"
    static let admin = "stw-admin"
    static let observer = "stw-observer"
    static let nobody = "stw-nobody"
    static let operatorUser = "stw-operator"

    /// Creates the groups and users if missing. Needs root.
    static let ensure: Void = {
        for g in [adminGroup, observerGroup] where !exists(group: g) {
            _ = try? Command.run(Paths.tool("groupadd")!, ["--system", g])
        }
        for (user, group) in [(admin, adminGroup), (observer, observerGroup), (nobody, ""), (operatorUser, "")] where !exists(user: user) {
            var args = ["--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group"]
            if !group.isEmpty { args += ["--groups", group] }
            _ = try? Command.run(Paths.tool("useradd")!, args + [user])
        }
    }()

    static func exists(user: String) -> Bool {
        (try? Command.run(Paths.tool("getent")!, ["passwd", user]))?.status == 0
    }

    static func exists(group: String) -> Bool {
        (try? Command.run(Paths.tool("getent")!, ["group", group]))?.status == 0
    }

    static func uid(of user: String) -> UInt32? {
        guard let r = try? Command.run(Paths.tool("id")!, ["-u", user]), r.status == 0 else { return nil }
        return UInt32(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func delete(user: String) {
        _ = try? Command.run(Paths.tool("userdel")!, [user])
    }

    static func create(user: String) {
        _ = try? Command.run(Paths.tool("useradd")!, ["--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", user])
    }
}
