using ContextMiddleware.AspNetCore.Internal.Baggage;

namespace ContextMiddleware.AspNetCore;

/// <summary>
/// The app's <see cref="ContextVar{T}"/>s that travel between services as W3C Baggage members
/// (<c>RequestContext:Baggage</c>): read from a trusted caller's <c>baggage</c> header into the variables when a request
/// (hub invocation, gRPC call, message) begins, and written from their current values into the <c>baggage</c> header of
/// outgoing calls to allowed hosts and of messages.
/// </summary>
/// <example>
/// <code>
/// public static class Tenant
/// {
///     public static readonly ContextVar&lt;string?&gt; Current = new("Tenant", null);
/// }
///
/// builder.Services.AddRequestContext(o =&gt; o.Baggage
///     .Add(Tenant.Current, "tenant", v =&gt; { v.Pattern = "^[a-z0-9-]{1,32}$"; v.LogPropertyName = "Tenant"; })
///     .Add(Cart.Id, "cart.id")            // ContextVar&lt;Guid?&gt;
///     .AddEnum(Plan.Current, "plan"));    // ContextVar&lt;PlanKind?&gt;
/// </code>
/// </example>
/// <remarks>
/// <para>
/// The variables keep the engine's semantics: a value set in a child flow (a <c>Task.Run</c>, an awaited method that
/// sets it) is what that flow's outgoing calls carry, and never reaches its parent or its siblings. OpenTelemetry's
/// <c>Baggage.Current</c> differs: a change made in a child flow is not seen by the parent either, but
/// <c>Baggage.SetBaggage</c> on a shared <c>Baggage</c> instance can leak between parallel flows; and it is untyped,
/// believed from any caller and sent to every host.
/// </para>
/// <para>
/// Members the app did not register, sent by a trusted caller, are passed on to the next hop unchanged (properties
/// included) unless <see cref="PassThroughUnregistered"/> is off; an untrusted caller's baggage is dropped whole.
/// </para>
/// </remarks>
public sealed class RequestBaggageOptions
{
    private readonly List<BaggageVariable> _variables = [];

    /// <summary>
    /// Gets or sets whether a caller's <c>baggage</c> header is believed.
    /// </summary>
    /// <value>Default: <see langword="null"/>, meaning the same as <see cref="RequestContextOptions.IncomingTraceContext"/>.</value>
    public RequestContextTrust? Incoming { get; set; }

    /// <summary>
    /// Gets or sets whether members that no variable is registered for, received from a trusted caller, are passed on to
    /// the next hop (the recommendation's SHOULD).
    /// </summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool PassThroughUnregistered { get; set; } = true;

    /// <summary>
    /// Gets or sets the hosts that outgoing calls may carry the <c>baggage</c> header to, within
    /// <see cref="RequestContextOptions.PropagationAllowedHosts"/> (it narrows that list; it never widens it): exact names
    /// or <c>*.</c> wildcards for subdomains. Follows configuration reloads, which never widen it to every host.
    /// </summary>
    /// <value>Default: empty, meaning every host that <see cref="RequestContextOptions.PropagationAllowedHosts"/> allows.</value>
    public IList<string> AllowedHosts { get; set; } = [];

    /// <summary>Gets the registered variables, in registration order (the order they are written in).</summary>
    internal IReadOnlyList<BaggageVariable> Variables => _variables;

    /// <summary>Registers a string variable under the baggage key <paramref name="key"/>.</summary>
    /// <param name="variable">The variable.</param>
    /// <param name="key">The member's key: a token (letters, digits and <c>!#$%&amp;'*+-.^_`|~</c>).</param>
    /// <param name="configure">Checks of incoming values, and the log property.</param>
    /// <returns>These options, to register more.</returns>
    public RequestBaggageOptions Add(ContextVar<string?> variable, string key, Action<BaggageVariableOptions<string?>>? configure = null) =>
        Add(variable, key, BaggageCodecs.Text.Instance, configure);

    /// <summary>
    /// Registers a variable of a type that parses and formats itself (<see cref="int"/>, <see cref="long"/>,
    /// <see cref="Guid"/>, <see cref="bool"/>, <see cref="decimal"/>, <see cref="DateTimeOffset"/>, or a type of the
    /// app's), read and written with the invariant culture.
    /// </summary>
    /// <typeparam name="T">The variable's type.</typeparam>
    /// <param name="variable">The variable.</param>
    /// <param name="key">The member's key: a token.</param>
    /// <param name="configure">Checks of incoming values, and the log property.</param>
    /// <returns>These options, to register more.</returns>
    public RequestBaggageOptions Add<T>(ContextVar<T> variable, string key, Action<BaggageVariableOptions<T>>? configure = null)
        where T : ISpanParsable<T> =>
        Add(variable, key, BaggageCodecs.Parsable<T>.Instance, configure);

    /// <summary>Registers a nullable variable of a value type that parses and formats itself (<c>ContextVar&lt;int?&gt;</c>, <c>ContextVar&lt;Guid?&gt;</c>).</summary>
    /// <typeparam name="T">The variable's underlying type.</typeparam>
    /// <param name="variable">The variable; <see langword="null"/> values are not sent.</param>
    /// <param name="key">The member's key: a token.</param>
    /// <param name="configure">Checks of incoming values, and the log property.</param>
    /// <returns>These options, to register more.</returns>
    public RequestBaggageOptions Add<T>(ContextVar<T?> variable, string key, Action<BaggageVariableOptions<T?>>? configure = null)
        where T : struct, ISpanParsable<T> =>
        Add(variable, key, BaggageCodecs.NullableParsable<T>.Instance, configure);

    /// <summary>Registers an enum variable, written as the value's name and read from a defined name in any case (numbers are refused).</summary>
    /// <typeparam name="TEnum">The enum.</typeparam>
    /// <param name="variable">The variable.</param>
    /// <param name="key">The member's key: a token.</param>
    /// <param name="configure">Checks of incoming values, and the log property.</param>
    /// <returns>These options, to register more.</returns>
    public RequestBaggageOptions AddEnum<TEnum>(ContextVar<TEnum> variable, string key, Action<BaggageVariableOptions<TEnum>>? configure = null)
        where TEnum : struct, Enum =>
        Add(variable, key, BaggageCodecs.Enumeration<TEnum>.Instance, configure);

    /// <summary>Registers a nullable enum variable; see <see cref="AddEnum{TEnum}(ContextVar{TEnum}, string, Action{BaggageVariableOptions{TEnum}})"/>.</summary>
    /// <typeparam name="TEnum">The enum.</typeparam>
    /// <param name="variable">The variable; <see langword="null"/> values are not sent.</param>
    /// <param name="key">The member's key: a token.</param>
    /// <param name="configure">Checks of incoming values, and the log property.</param>
    /// <returns>These options, to register more.</returns>
    public RequestBaggageOptions AddEnum<TEnum>(ContextVar<TEnum?> variable, string key, Action<BaggageVariableOptions<TEnum?>>? configure = null)
        where TEnum : struct, Enum =>
        Add(variable, key, BaggageCodecs.NullableEnumeration<TEnum>.Instance, configure);

    /// <summary>Registers a variable of any type, read and written by <paramref name="codec"/>.</summary>
    /// <typeparam name="T">The variable's type.</typeparam>
    /// <param name="variable">The variable.</param>
    /// <param name="key">The member's key: a token.</param>
    /// <param name="codec">Reads and writes the values.</param>
    /// <param name="configure">Checks of incoming values, and the log property.</param>
    /// <returns>These options, to register more.</returns>
    public RequestBaggageOptions Add<T>(ContextVar<T> variable, string key, BaggageCodec<T> codec, Action<BaggageVariableOptions<T>>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(variable);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(codec);
        var options = new BaggageVariableOptions<T>();
        configure?.Invoke(options);
        _variables.Add(new BaggageVariable<T>(key, variable, codec, options));
        return this;
    }
}
