/// Relational integrity checks (Mattermost's 41 relations) land here with their issue.
public enum IntegrityPlaceholder {}
