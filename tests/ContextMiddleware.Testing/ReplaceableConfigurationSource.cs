using Microsoft.Extensions.Configuration;

namespace ContextMiddleware.Testing;

/// <summary>
/// A configuration source whose whole data can be replaced and then reloaded, so a test can remove keys, as a file
/// provider does when its file changes.
/// </summary>
public sealed class ReplaceableConfigurationSource : ConfigurationProvider, IConfigurationSource
{
    /// <inheritdoc />
    public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

    /// <summary>Replaces every key with <paramref name="data"/> and signals a reload.</summary>
    /// <param name="data">The new keys and values.</param>
    public void Replace(Dictionary<string, string?> data)
    {
        Data = new Dictionary<string, string?>(data, StringComparer.OrdinalIgnoreCase);
        OnReload();
    }
}
