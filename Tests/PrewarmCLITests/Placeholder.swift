import Testing
@Test func placeholderPrewarmCLITests() { #expect(Bool(true)) }
