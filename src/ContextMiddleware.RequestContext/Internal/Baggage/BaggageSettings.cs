namespace ContextMiddleware.AspNetCore.Internal.Baggage;

/// <summary>The registered baggage variables and the rules of <see cref="RequestBaggageOptions"/>, resolved once at startup.</summary>
internal sealed class BaggageSettings
{
    private readonly Dictionary<string, BaggageVariable> _byKey;

    public BaggageSettings(RequestBaggageOptions options, RequestContextTrust traceContextTrust)
    {
        Variables = [.. options.Variables];
        _byKey = new Dictionary<string, BaggageVariable>(StringComparer.Ordinal);
        foreach (var variable in Variables)
        {
            _byKey.TryAdd(variable.Key, variable); // duplicates are refused by the validator
        }

        ByKey = _byKey.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var variable in Variables)
        {
            _keyLengths |= variable.Key.Length < 64 ? 1UL << variable.Key.Length : 1UL << 63;
        }

        Logged = [.. Variables.Where(static variable => variable.LogPropertyName is not null)];
        PassThroughUnregistered = options.PassThroughUnregistered;
        Incoming = options.Incoming ?? traceContextTrust;
    }

    /// <summary>The registered variables, in registration order.</summary>
    public BaggageVariable[] Variables { get; }

    /// <summary>The registered variables by key, looked up without allocating a key.</summary>
    public Dictionary<string, BaggageVariable>.AlternateLookup<ReadOnlySpan<char>> ByKey { get; }

    private readonly ulong _keyLengths;

    /// <summary>The variable registered under <paramref name="key"/>: most keys are not, and their length says so without a hash.</summary>
    public bool TryGetVariable(ReadOnlySpan<char> key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out BaggageVariable? variable)
    {
        if ((_keyLengths & (key.Length < 64 ? 1UL << key.Length : 1UL << 63)) == 0)
        {
            variable = null;
            return false;
        }

        return ByKey.TryGetValue(key, out variable);
    }

    /// <summary>The variables with a log property.</summary>
    public BaggageVariable[] Logged { get; }

    public bool PassThroughUnregistered { get; }

    /// <summary>Whether a caller's baggage is believed, under the default trust policy.</summary>
    public RequestContextTrust Incoming { get; }
}
