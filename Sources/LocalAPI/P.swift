public enum LocalAPIPlaceholder {}
