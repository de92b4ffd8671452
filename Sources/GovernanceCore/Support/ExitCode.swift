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

    public init(_ exitCode: ExitCode, _ message: String) { (self.exitCode, self.message) = (exitCode, message) }

    public var description: String { message }

    public static func data(_ message: String) -> RgovError { RgovError(.dataError, message) }
    public static func io(_ message: String) -> RgovError { RgovError(.ioError, message) }
}

/// Every error a person may read: what went wrong, where, and the sysexits status it maps to.
///
/// `CommandRunner` is the one place that turns any of them into a log line and an exit status.
public protocol OperatorFacingError: Error, CustomStringConvertible {
    var exitCode: ExitCode { get }
}

extension RgovError: OperatorFacingError {}

/// A command line that cannot be obeyed as written (exit 64).
public struct UsageError: OperatorFacingError, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var exitCode: ExitCode { .usage }
    public var description: String { message }
}

/// Configuration refused (exit 78): a profile, pack, descriptor, binding or environment value,
/// with the file and line when there is one.
public struct ConfigurationError: OperatorFacingError, Sendable, Equatable {
    public var message: String
    public var file: String?
    public var line: Int?
    public init(_ message: String, file: String? = nil, line: Int? = nil) {
        self.message = message
        self.file = file
        self.line = line
    }
    public var exitCode: ExitCode { .configuration }
    public var description: String {
        guard let file else { return message }
        return line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)"
    }

    /// What `read` returns; a YAML error it throws is refused configuration, in the same words.
    static func reading<T>(_ read: () throws -> T) throws -> T {
        do {
            return try read()
        } catch let error as YAMLError {
            throw ConfigurationError(error.description)
        }
    }
}
