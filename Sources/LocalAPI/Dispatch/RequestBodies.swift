import StewardModel

/// Every JSON request body type, decoded the way the dispatcher and the handlers do it: the
/// dispatcher's syntax check first (a non-empty body must be valid JSON), then `decodeJSON` as
/// each type. The entry point for the request-body fuzz target (docs/security.md, "Fuzzing").
package enum RequestBodies {
    /// What each decoder made of one body; nil where the decoder failed.
    package struct Decoded: Equatable {
        /// `JobHandlers.CreateBody` (`POST /jobs`): type and data.
        package var create: Create?
        /// `JobHandlers.CreateBody` through Foundation's decoder alone: what the one-pass reader
        /// must agree with wherever it answers.
        package var createByDecoder: Create?
        /// `JobHandlers.StatusBody` (`PATCH /jobs/{id}/status`).
        package var status: Status?
        /// `ConfigHandlers.MigrateBody` (`POST /config/migrate`).
        package var migrate: Migrate?

        package struct Create: Equatable { package var type: String?; package var data: [String: String]? }
        package struct Status: Equatable { package var status: String?; package var force: Bool? }
        package struct Migrate: Equatable { package var from: String?; package var to: String? }
    }

    /// The dispatcher's check: an empty body passes, any other must be valid JSON.
    package static func passesDispatcher(_ body: [UInt8]) -> Bool {
        body.isEmpty || JSONSyntax.isValid(body)
    }

    /// Decodes `body` as every body type (call only for bodies that pass the dispatcher).
    package static func decodeAll(_ body: [UInt8]) -> Decoded {
        let request = APIRequest(method: "POST", uri: "/", body: body, requestID: "fuzz",
                                 peer: PeerCredentials(uid: 0, gid: 0, pid: 0, groups: []))
        var d = Decoded()
        if let b = try? JobHandlers.CreateBody.decode(request) { d.create = .init(type: b.type, data: b.data) }
        if let b = try? request.decodeJSON(JobHandlers.CreateBody.self) { d.createByDecoder = .init(type: b.type, data: b.data) }
        if let b = try? request.decodeJSON(JobHandlers.StatusBody.self) { d.status = .init(status: b.status, force: b.force) }
        if let b = try? request.decodeJSON(ConfigHandlers.MigrateBody.self) { d.migrate = .init(from: b.from, to: b.to) }
        return d
    }
}
