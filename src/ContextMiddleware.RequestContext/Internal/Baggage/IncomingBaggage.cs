namespace ContextMiddleware.AspNetCore.Internal.Baggage;

/// <summary>
/// The members a trusted caller sent that no variable is registered for, passed on to the next hop as they came
/// (properties included); set only for calls that received some, so a call without baggage stores nothing.
/// </summary>
internal sealed class IncomingBaggage(PassThroughMember[] members)
{
    /// <summary>The current call's members to pass on.</summary>
    public static readonly ContextVar<IncomingBaggage?> Current = new("ContextMiddleware.Baggage.PassThrough", null);

    public PassThroughMember[] Members { get; } = members;
}

/// <summary>One member to pass on: a range of the header line it came in, or its canonical text when it had whitespace.</summary>
internal readonly struct PassThroughMember(BaggageMember member, string? canonical)
{
    public ReadOnlySpan<char> Key => member.Key;

    /// <summary>Whether the member had whitespace inside, so that it is sent on in another form.</summary>
    public bool IsRewritten => canonical is not null;

    /// <summary>The member as it is sent on.</summary>
    public ReadOnlySpan<char> Text => canonical is null ? member.Text : canonical;
}
