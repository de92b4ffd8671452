/// Process exit statuses, from sysexits(3), so scripts and cron wrappers can tell failures apart.
public enum ExitCode: Int32, Sendable {
    case ok = 0
    case failure = 1
    case usage = 64
    case dataError = 65
    case noInput = 66
    case cannotCreate = 73
    case ioError = 74
    case temporaryFailure = 75
    case noPermission = 77
    case configuration = 78
}

/// An error a person reads: what went wrong, where, and the exit status it maps to.
public struct RgovError: Error, CustomStringConvertible, Sendable, Equatable {
    public var exitCode: ExitCode
    public var message: String

    public init(_ exitCode: ExitCode, _ message: String) {
        self.exitCode = exitCode
        self.message = message
    }

    public var description: String { message }

    public static func usage(_ message: String) -> RgovError { RgovError(.usage, message) }
    public static func data(_ message: String) -> RgovError { RgovError(.dataError, message) }
    public static func config(_ message: String) -> RgovError { RgovError(.configuration, message) }
    public static func io(_ message: String) -> RgovError { RgovError(.ioError, message) }
}
