// The interface definition language's types (VarlinkInterface, VarlinkType, VarlinkIDLError, …) live in the
// VarlinkIDL target, which depends on nothing, so that varlink-swift-generator (the VarlinkGenerator plugin's tool)
// builds without UDSKit and SwiftNIO. `import UDSVarlink` brings them along.
@_exported public import VarlinkIDL
