import StewardModel

/// One key a job type accepts in its `data`: its type, its range or allowed values, its default.
/// Job data comes from whoever may create the job, so nothing reaches a worker before it passed
/// this check, and the checked ranges keep every worker's arithmetic on it from trapping.
public struct JobParameter: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A decimal integer within the range (no sign other than a leading `-`, no spaces).
        case integer(ClosedRange<Int64>)
        /// `true` or `false`.
        case boolean
    }

    public var name: String
    public var kind: Kind
    /// The value used when the key is absent (nil: the worker's own default, e.g. a setting).
    public var defaultValue: String?
    public var summary: String

    public init(_ name: String, _ kind: Kind, default defaultValue: String? = nil, _ summary: String) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.summary = summary
    }

    /// What the value may be, for error messages.
    public var allowed: String {
        switch kind {
        case .integer(let r): return "an integer from \(r.lowerBound) to \(r.upperBound)"
        case .boolean: return "true or false"
        }
    }

    /// The value as this parameter reads it, nil when it is not acceptable.
    func parse(_ text: String) -> JobParameterValue? {
        switch kind {
        case .boolean:
            return text == "true" ? .boolean(true) : text == "false" ? .boolean(false) : nil
        case .integer(let range):
            let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
            guard !digits.isEmpty, digits.utf8.count <= 19, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let n = Int64(text), range.contains(n) else { return nil }
            return .integer(n)
        }
    }
}

enum JobParameterValue: Equatable {
    case integer(Int64)
    case boolean(Bool)
}

/// A data key a job type does not accept, or a value outside its parameter's range.
public struct JobParameterError: Error, Equatable, Sendable, CustomStringConvertible {
    public var type: String
    public var key: String
    /// Empty for an unknown key.
    public var allowed: String
    public var accepted: [String]

    public var description: String {
        // The key is the client's: shown, but never more than a line of it.
        let key = self.key.count > 64 ? String(self.key.prefix(64)) + "…" : self.key
        if allowed.isEmpty {
            let keys = accepted.isEmpty ? "none" : accepted.joined(separator: ", ")
            return "\(type) jobs take no data key '\(key)' (accepted: \(keys))"
        }
        return "data.\(key) of a \(type) job must be \(allowed)"
    }
}

/// The parameters of one job type, and the check of a job's data against them.
public struct JobParameters: Sendable, Equatable {
    public var list: [JobParameter]

    public init(_ list: [JobParameter]) { self.list = list }

    public static let none = JobParameters([])

    /// Checks data sent to create a job: every key must be a parameter and every value within its
    /// range. Returns the data as stored (unchanged: values are kept as sent once they passed).
    public func validate(_ data: [String: String], type: String) throws(JobParameterError) -> [String: String] {
        for key in data.keys.sorted() {
            guard let p = list.first(where: { $0.name == key }) else {
                throw JobParameterError(type: type, key: key, allowed: "", accepted: list.map(\.name))
            }
            if p.parse(data[key]!) == nil { throw JobParameterError(type: type, key: key, allowed: p.allowed, accepted: []) }
        }
        return data
    }

    /// The checked integer value of `name` in a job's data (its default when absent; nil when it
    /// has none). A value stored by an older version that does not pass fails the job, never traps.
    public func integer(_ name: String, in job: Job) throws -> Int64? {
        guard let p = list.first(where: { $0.name == name }) else { preconditionFailure("\(name) is not a parameter of \(job.type)") }
        guard let text = job.data[name] ?? p.defaultValue else { return nil }
        guard case .integer(let n)? = p.parse(text) else { throw JobFailure("data.\(name) must be \(p.allowed)") }
        return n
    }

    /// The checked boolean value of `name` in a job's data (its default, or false, when absent).
    public func boolean(_ name: String, in job: Job) throws -> Bool {
        guard let p = list.first(where: { $0.name == name }) else { preconditionFailure("\(name) is not a parameter of \(job.type)") }
        guard let text = job.data[name] ?? p.defaultValue else { return false }
        guard case .boolean(let b)? = p.parse(text) else { throw JobFailure("data.\(name) must be \(p.allowed)") }
        return b
    }
}
