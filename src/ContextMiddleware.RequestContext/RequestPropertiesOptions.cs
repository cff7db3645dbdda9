using ContextMiddleware.AspNetCore.Internal.Options;

namespace ContextMiddleware.AspNetCore;

/// <summary>The limits of <see cref="RequestContext.Properties"/>, part of <see cref="RequestContextOptions"/>.</summary>
public sealed class RequestPropertiesOptions
{
    /// <summary>Gets or sets how many properties one request may carry; a property over it is dropped.</summary>
    /// <value>Default: 32.</value>
    [Between(0, 1024, "RequestContext:Properties:MaxCount")]
    public int MaxCount { get; set; } = 32;

    /// <summary>
    /// Gets or sets the longest value, in characters (a value that is not a string counts as its invariant text); a
    /// longer value is dropped, never cut.
    /// </summary>
    /// <value>Default: 1,024.</value>
    [Between(1, 65536, "RequestContext:Properties:MaxValueLength")]
    public int MaxValueLength { get; set; } = 1024;
}
