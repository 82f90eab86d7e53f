import Testing
@Test func placeholderPrewarmCoreTests() { #expect(Bool(true)) }
