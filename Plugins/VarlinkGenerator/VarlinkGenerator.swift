import PackagePlugin

/// Generates Swift for each `.varlink` file of a target (types, errors, a typed client and a server protocol; see
/// `varlink-swift-generator`), into the plugin's work directory, at build time. The target must depend on
/// `UDSVarlink`:
///
/// ```swift
/// .target(
///     name: "PingService",
///     dependencies: [.product(name: "UDSVarlink", package: "UDSKit")],
///     plugins: [.plugin(name: "VarlinkGenerator", package: "UDSKit")]
/// )
/// ```
@main
struct VarlinkGenerator: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let generator = try context.tool(named: "varlink-swift-generator")
        return target.sourceFiles(withSuffix: "varlink").map { file in
            let name = file.url.deletingPathExtension().lastPathComponent
            let output = context.pluginWorkDirectoryURL.appending(path: name + ".swift")
            return .buildCommand(
                displayName: "Generating Swift for \(file.url.lastPathComponent)",
                executable: generator.url,
                arguments: [file.url.path(), output.path()],
                inputFiles: [file.url],
                outputFiles: [output]
            )
        }
    }
}
