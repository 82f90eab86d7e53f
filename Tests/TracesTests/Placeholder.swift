import Testing
@Test func placeholderTracesTests() { #expect(Bool(true)) }
