import Foundation
import LocalAPI
import StewardModel
import Testing

/// Tests over the one route table (snapd's TestCommandAccessSane).
@Suite struct RouteTableTests {
    /// The only route an unknown peer may call.
    static let openRoutes: Set<String> = ["GET /api/v4/system/ping"]

    @Test func everyRouteRequiresAPermissionExceptPing() {
        for route in RouteTable.all {
            switch route.permission {
            case .none:
                #expect(Self.openRoutes.contains(route.name), "\(route.name) has no permission")
            case .job:
                #expect(route.path.hasPrefix(RouteTable.prefix + "/jobs"), "\(route.name): per-job-type permission outside /jobs")
            case .anyOf(let ps):
                #expect(!ps.isEmpty, "\(route.name) requires an empty permission set")
                #expect(ps.allSatisfy { Permission.all.contains($0) }, "\(route.name) names an unknown permission")
            }
        }
    }

    @Test func noDuplicateRoutes() {
        let names = RouteTable.all.map(\.name)
        #expect(Set(names).count == names.count)
    }

    @Test func mutatingRoutesAreAudited() {
        for route in RouteTable.all where route.method != "GET" {
            #expect(route.audit == .always, "\(route.name) changes state but is not audited")
        }
    }

    @Test func everyRouteIsInTheOpenAPIDocument() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/openapi.yaml")
        let doc = try String(contentsOf: url, encoding: .utf8)
        for route in RouteTable.all {
            let path = String(route.path.dropFirst(RouteTable.prefix.count))
            guard let start = doc.range(of: "\n  \(path):\n") else {
                Issue.record("\(path) is missing from docs/openapi.yaml")
                continue
            }
            let rest = doc[start.upperBound...]
            let block = rest.prefix { _ in true }.split(separator: "\n", omittingEmptySubsequences: false)
                .prefix { $0.hasPrefix("    ") || $0.isEmpty }.joined(separator: "\n")
            #expect(block.contains("    \(route.method.lowercased()):"), "\(route.name) is missing from docs/openapi.yaml")
        }
    }

    @Test func routerMatchesStaticAndReportsAllowedMethods() {
        let router = RouteTable.router
        if case .found(let r, _) = router.match(method: "GET", path: "/api/v4/system/ping") {
            #expect(r.name == "GET /api/v4/system/ping")
        } else {
            Issue.record("ping not found")
        }
        if case .methodNotAllowed(let allowed) = router.match(method: "PATCH", path: "/api/v4/server_busy") {
            #expect(allowed == ["DELETE", "GET", "POST"])
        } else {
            Issue.record("expected 405")
        }
        if case .notFound = router.match(method: "GET", path: "/api/v4/server_busy/") {} else { Issue.record("trailing slash must be 404") }
        if case .notFound = router.match(method: "GET", path: "/api/v4") {} else { Issue.record("prefix alone must be 404") }
    }

    @Test func routerBindsPathParameters() {
        let route = Route("GET", "/api/v4/jobs/{job_id}", permission: .permission(.readJobs), audit: .denialsOnly, summary: "") { _ in .ok }
        let router = Router(routes: [route])
        if case .found(_, let params) = router.match(method: "GET", path: "/api/v4/jobs/abc") {
            #expect(params == ["job_id": "abc"])
        } else {
            Issue.record("parameterized route not matched")
        }
        if case .notFound = router.match(method: "GET", path: "/api/v4/jobs/") {} else { Issue.record("empty parameter must not match") }
        if case .methodNotAllowed(let a) = router.match(method: "POST", path: "/api/v4/jobs/abc") { #expect(a == ["GET"]) } else {
            Issue.record("expected 405")
        }
    }
}
