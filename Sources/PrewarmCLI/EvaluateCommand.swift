import ArgumentParser

/// Placeholder until implemented.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(shouldDisplay: false)
    func run() throws { throw ValidationError("not implemented yet") }
}
