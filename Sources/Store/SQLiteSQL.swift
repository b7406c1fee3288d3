import CSQLite

/// SQLite's side of the store interface: `Connection` is an `SQLConnection` (statements cached by
/// their text, so the domain's SQL is prepared once per connection), `Statement` an `SQLRow`, and
/// `DatabasePool` an `SQLStore` whose reads and one-row writes may run on a connection's loop.
extension Statement: SQLRow {
    @discardableResult
    public func bind(_ index: Int32, _ value: SQLValue) -> Statement {
        switch value {
        case .text(let s): return bind(index, s)
        case .int(let n): return bind(index, n)
        case .null: return bind(index, nil as String?)
        }
    }
}

extension Connection: SQLConnection {
    public var dialect: SQLDialect { .sqlite }

    @discardableResult
    public func run(_ sql: String, _ parameters: [SQLValue]) throws -> Int {
        let s = try cached(sql)
        for (i, p) in parameters.enumerated() { s.bind(Int32(i + 1), p) }
        defer { s.reset() }
        try s.run()
        return changes
    }

    public func query(_ sql: String, _ parameters: [SQLValue], _ row: (any SQLRow) throws -> Void) throws {
        let s = try cached(sql)
        for (i, p) in parameters.enumerated() { s.bind(Int32(i + 1), p) }
        defer { s.reset() }
        while try s.step() { try row(s) }
    }
}

extension DatabasePool: SQLStore {
    public var dialect: SQLDialect { .sqlite }
    public var answersOnTheLoop: Bool { true }

    public func writeSQLSync<T>(_ body: (any SQLConnection) throws -> T) throws -> T { try writeSync { try body($0) } }
    public func readSQLSync<T>(_ body: (any SQLConnection) throws -> T) throws -> T { try readSync { try body($0) } }
    public func writeSQL<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await write { try body($0) }
    }
    public func readSQL<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await read { try body($0) }
    }
    public func writeSQLCombined<T: Sendable>(_ body: @escaping @Sendable (any SQLConnection) throws -> T) async throws -> T {
        try await writeCombined { try body($0) }
    }
    public func writeSQLIfFree<T>(_ body: (any SQLConnection) throws -> T) throws -> T? { try writeIfFree { try body($0) } }
    public func recycle() throws { try recycle(path: nil) }
}
