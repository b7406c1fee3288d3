import ArgumentParser
import Foundation
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// `stewardctl integrity`: mmctl's `integrity` command against stewardd.
struct IntegrityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "integrity",
        abstract: "Check the relational integrity of the store (Mattermost's relations).",
        discussion: "Reads every checked table once; on a large store that takes a while. Asks for YES on a terminal unless --confirm is given, and refuses without --confirm when not interactive.")

    @OptionGroup var options: GlobalOptions
    @Flag(name: .long, help: "Run without asking.") var confirm = false
    @Flag(name: .shortAndLong, help: "List every orphaned record.") var verbose = false

    func run() throws {
        try runReportingErrors { () throws(CLIError) in
            if !confirm {
                guard isatty(STDIN_FILENO) == 1 else {
                    throw .error("refusing to run the integrity check without --confirm when not interactive")
                }
                FileHandle.standardOutput.write(
                    Data("This check may harm performance on live systems. Are you sure you want to proceed? (YES/NO): ".utf8))
                guard readLine() == "YES" else { throw .error("aborted") }
            }
            let r = try options.call("POST", "/integrity", context: "unable to perform integrity check")
            guard let results = try? JSONDecoder().decode([IntegrityCheckResult].self, from: Data(r.body)) else {
                throw .error("unable to perform integrity check. Error: unexpected answer")
            }
            let failed = results.compactMap(\.err)
            if options.json {
                let data = results.compactMap(\.data)
                options.printJSON(Array("[\(data.map(\.json).joined(separator: ","))]".utf8))
            } else {
                for data in results.compactMap(\.data) { Self.report(data, verbose: verbose, options: options) }
            }
            if !failed.isEmpty {
                throw .error(failed.map(TerminalText.field).joined(separator: "\n"))
            }
        }
    }

    static func report(_ data: RelationalIntegrityCheckData, verbose: Bool, options: GlobalOptions) {
        // Table and column names come from the config or the schema, ids from the rows.
        let childName = TerminalText.field(data.childName), parentName = TerminalText.field(data.parentName)
        let childIDAttr = TerminalText.field(data.childIDAttr), parentIDAttr = TerminalText.field(data.parentIDAttr)
        options.say("Found \(data.records.count) in relation \(childName) orphans of relation \(parentName)")
        guard verbose else { return }
        for record in data.records {
            let parent = record.parentID.map { $0.isEmpty ? "empty" : TerminalText.field($0) } ?? "NULL"
            let missing = record.parentID == nil || record.parentID == ""
            if let child = record.childID.map(TerminalText.field) {
                options.say(missing
                    ? "  Child \(child) (\(childName).\(childIDAttr)) has \(parent) ParentIdAttr (\(childName).\(parentIDAttr))"
                    : "  Child \(child) (\(childName).\(childIDAttr)) is missing Parent \(parent) (\(childName).\(parentIDAttr))")
            } else {
                options.say(missing
                    ? "  Child has \(parent) ParentIdAttr (\(childName).\(parentIDAttr))"
                    : "  Child is missing Parent \(parent) (\(childName).\(parentIDAttr))")
            }
        }
    }
}
