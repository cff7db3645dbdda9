using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore.Internal.Baggage;

/// <summary>
/// The members a trusted caller sent that no variable is registered for, passed on to the next hop as they came
/// (properties included): kept as the header lines they came in, read again for each outgoing call
/// (<see cref="BaggageReader.PassedOn"/>); set only for calls that received some, so a call without baggage stores
/// nothing.
/// </summary>
internal sealed class IncomingBaggage(StringValues lines, int registeredLength, System.Diagnostics.Activity? holder)
{
    /// <summary>
    /// The call's Activity when it holds the members as its baggage (ASP.NET Core's hosting, SignalR put them there):
    /// a member the app then removes from it is not passed on.
    /// </summary>
    public System.Diagnostics.Activity? Holder { get; } = holder;

    /// <summary>The current call's members to pass on.</summary>
    public static readonly ContextVar<IncomingBaggage?> Current = new("ContextMiddleware.Baggage.PassThrough", null);

    /// <summary>The baggage lines as the caller sent them.</summary>
    public StringValues Lines { get; } = lines;

    /// <summary>The bytes the registered members took when the call began, before the members passed on.</summary>
    public int RegisteredLength { get; } = registeredLength;
}
