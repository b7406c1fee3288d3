/// Path arithmetic on strings (FoundationEssentials has no NSString path API).
public enum PathName {
    /// The directory part of `path`: "/" for "/x", nil when there is no "/" at all.
    public static func directory(of path: String) -> String? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The last component of `path`.
    public static func lastComponent(of path: String) -> String {
        path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    }
}
