/// What a job leaves behind for download: nothing, a backup of the store, a report, an export, or
/// a Mattermost bulk export (served under `/api/v4/exports` by Mattermost's file name).
public enum JobArtifactKind: String, Sendable, Codable, CaseIterable {
    case none, backup, report, export
    case bulkExport = "bulk_export"

    /// The extension of the artifact's file name.
    public var fileExtension: String {
        switch self {
        case .none: return ""
        case .backup: return "db"
        case .report: return "json"
        case .export, .bulkExport: return "zip"
        }
    }

    public var contentType: String {
        switch self {
        case .report: return "application/json"
        case .export, .bulkExport: return "application/zip"
        case .none, .backup: return "application/octet-stream"
        }
    }
}

/// One entry of `GET /api/v4/jobs/types` (a Steward extension): a job type as the daemon declares
/// it — its parameters, the permissions each kind of access needs, its artifact, whether it runs
/// while the server is busy and the systemd timer that schedules it. Built from the declaration the
/// validator of `POST /jobs` uses, so the two cannot disagree.
public struct JobTypeInfo: Sendable, Equatable, Codable {
    /// One accepted key of the job's `data`.
    public struct Parameter: Sendable, Equatable, Codable {
        public var name: String
        /// `integer` or `boolean`.
        public var type: String
        public var minimum: Int64?
        public var maximum: Int64?
        public var defaultValue: String?
        public var description: String

        public init(name: String, type: String, minimum: Int64?, maximum: Int64?, defaultValue: String?, description: String) {
            self.name = name
            self.type = type
            self.minimum = minimum
            self.maximum = maximum
            self.defaultValue = defaultValue
            self.description = description
        }

        enum CodingKeys: String, CodingKey {
            case name, type, minimum, maximum, description
            case defaultValue = "default"
        }
    }

    public var type: String
    public var summary: String
    /// False for Mattermost types Steward knows (and lists) but has no worker for.
    public var runnable: Bool
    public var runsWhileBusy: Bool
    public var artifact: JobArtifactKind
    /// The systemd timer unit that creates jobs of this type, if any.
    public var timer: String?
    /// Access (`read`, `create`, `manage`, `download`) → the permissions, any of which grants it;
    /// an access without a mapping is absent (Mattermost refuses it).
    public var permissions: [String: [String]]
    public var parameters: [Parameter]

    public init(type: String, summary: String, runnable: Bool, runsWhileBusy: Bool, artifact: JobArtifactKind, timer: String?,
                permissions: [String: [String]], parameters: [Parameter]) {
        self.type = type
        self.summary = summary
        self.runnable = runnable
        self.runsWhileBusy = runsWhileBusy
        self.artifact = artifact
        self.timer = timer
        self.permissions = permissions
        self.parameters = parameters
    }

    enum CodingKeys: String, CodingKey {
        case type, summary, runnable, artifact, timer, permissions, parameters
        case runsWhileBusy = "runs_while_busy"
    }

    public var json: String {
        var w = JSONWriter()
        w.object { o in
            o.field("type", type)
            o.field("summary", summary)
            o.field("runnable", runnable)
            o.field("runs_while_busy", runsWhileBusy)
            o.field("artifact", artifact.rawValue)
            o.nullable("timer", timer)
            o.object("permissions") { p in
                for key in permissions.keys.sorted() { p.raw(key, JSONWriter.strings(permissions[key]!)) }
            }
            o.array("parameters", parameters) { w, p in w.raw(p.json) }
        }
        return w.output
    }

    public static func json(_ list: [JobTypeInfo]) -> String {
        var w = JSONWriter()
        w.array(list) { w, t in w.raw(t.json) }
        return w.output
    }
}

extension JobTypeInfo.Parameter {
    var json: String {
        var w = JSONWriter()
        w.object { o in
            o.field("name", name)
            o.field("type", type)
            if let minimum { o.field("minimum", minimum) }
            if let maximum { o.field("maximum", maximum) }
            o.nullable("default", defaultValue)
            o.field("description", description)
        }
        return w.output
    }
}
