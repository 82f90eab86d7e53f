import ArgumentParser

/// Placeholder until implemented.
struct ForestBench: ParsableCommand {
    static let configuration = CommandConfiguration(shouldDisplay: false)
    func run() throws { throw ValidationError("not implemented yet") }
}
