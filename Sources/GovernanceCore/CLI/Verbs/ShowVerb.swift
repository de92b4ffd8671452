import Foundation

extension Verb {
    /// `rgov show`: one notice's whole chain, or every notice of a mission (postcat).
    static let show = Verb(
        CommandSpec(
            "rgov show",
            summary:
                "the whole chain of a notice (mission, event, decision, transitions, spool, attempts, receipts, hashes)",
            arguments: [ArgumentSpec("ID", "a notice id, or a mission id for all its notices")],
            exits: [(.noInput, "no such notice or mission")], example: "rgov show crm-overdue-02")
    ) { options in
        let id = options.argument
        let layout = try options.readableLayout("show", target: id)
        let store = NoticeStore(layout: layout)
        let inspection = Inspection(layout: layout, now: try options.clock().now())
        if let path = store.locate(id) {
            let chain = try inspection.chain(of: try store.read(path), at: path)
            options.emit(chain, Inspection.describe(chain))
            return 0
        }
        let notices = try store.all().filter { $0.notice.mission_id == id }
        guard !notices.isEmpty || Sys.exists(layout.mission(id)) else {
            throw RgovError(.noInput, "no notice or mission \(Identifier.quoted(id)) in \(layout.root)")
        }
        let chains = try notices.map { try inspection.chain(of: $0.notice, at: $0.path) }
        options.emit(
            chains,
            chains.isEmpty ? "mission \(id): no notices" : chains.map(Inspection.describe).joined(separator: "\n\n"))
        return 0
    }
}
