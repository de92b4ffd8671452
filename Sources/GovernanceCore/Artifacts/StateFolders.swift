import Foundation

/// The state folders that depend on the delivery states: one folder per state for notices.
extension StateLayout {
    /// The folder that holds notices in `state`; final states are partitioned by `day`.
    public func notices(_ state: DeliveryState, day: String? = nil) -> String {
        noticeFolder(state.rawValue, day: state.isFinal ? day : nil)
    }

    /// The top-level folders, created 0700 before a stage acts.
    public var folders: [String] { fixedFolders + DeliveryState.allCases.map { notices($0) } }

    /// Creates every folder (mode 0700) and checks the root is writable.
    public func prepare() throws {
        do {
            for folder in folders { try Sys.makeDirectory(folder) }
        } catch let error as SystemCallError {
            throw RgovError(.cannotCreate, "state directory \(root) is not usable: \(error)")
        }
        guard Sys.isWritableDirectory(root) else {
            throw RgovError(.cannotCreate, "state directory \(root) is not writable by \(Sys.userName())")
        }
    }
}
