/// Errors of the maintenance domain. The transport maps them to AppErrors in one place.
public enum MaintenanceError: Error, Sendable, Equatable {
    /// `seconds` for server busy outside 1...86400 or not an integer.
    case invalidBusySeconds(String)
    /// The store could not be reached or failed; the description goes to the journal only.
    case storeFailure(String)
}
