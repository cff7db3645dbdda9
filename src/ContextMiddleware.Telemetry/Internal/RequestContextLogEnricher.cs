using ContextMiddleware.AspNetCore;
using Microsoft.Extensions.Compliance.Redaction;
using Microsoft.Extensions.Diagnostics.Enrichment;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.Telemetry.Internal;

/// <summary>
/// Adds the request context to every record of Microsoft.Extensions.Telemetry's logger (<c>EnableEnrichment()</c>):
/// RequestId, TraceId, SpanId, UserId and UserName (redacted by their classification's redactor when redaction is on),
/// the request's properties and the chosen ContextVars. Outside a request it adds nothing but the ContextVars.
/// </summary>
internal sealed class RequestContextLogEnricher : ILogEnricher
{
    private readonly RequestContextLogEnricherOptions _options;
    private readonly Redactor? _userIdRedactor;
    private readonly Redactor? _userNameRedactor;
    private readonly object _key = new();

    public RequestContextLogEnricher(IOptions<RequestContextLogEnricherOptions> options, EnricherUse use, IRedactorProvider? redactors = null)
    {
        use.Taken = true;
        _options = options.Value;
        _userIdRedactor = redactors?.GetRedactor(_options.UserIdClassification);
        _userNameRedactor = redactors?.GetRedactor(_options.UserNameClassification);
    }

    public void Enrich(IEnrichmentTagCollector collector)
    {
        var requestId = RequestContext.RequestId.Get();
        var trace = RequestContext.Trace.Get();
        if (requestId is not null)
        {
            collector.Add("RequestId", requestId);
        }

        if (trace is not null)
        {
            collector.Add("TraceId", trace.TraceId);
            collector.Add("SpanId", trace.SpanId);
            var user = RequestContext.User.Get();
            if (user.Id is not null || user.Name is not null)
            {
                // Redacted once per request and user, kept with the request's trace.
                var kept = trace.GetOrAddState(_key, static (_, _) => new RedactedUser(), 0);
                var redacted = kept.For(user.Id, user.Name, _userIdRedactor, _userNameRedactor);
                if (redacted.Id is not null)
                {
                    collector.Add("UserId", redacted.Id);
                }

                if (redacted.Name is not null)
                {
                    collector.Add("UserName", redacted.Name);
                }
            }
        }

        if (_options.RequestProperties)
        {
            foreach (var (name, value) in RequestContext.Properties.GetAll())
            {
                if (value is not null)
                {
                    collector.Add(name, value);
                }
            }
        }

        // The baggage variables registered with a LogPropertyName (a list kept while their values do not change).
        foreach (var (name, value) in RequestBaggage.LogProperties)
        {
            collector.Add(name, value);
        }

        foreach (var (name, read) in _options.Variables)
        {
            if (read() is { } value)
            {
                collector.Add(name, value);
            }
        }
    }

    /// <summary>A request's user as written: redacted once per user id and name (a user can authenticate mid-request).</summary>
    private sealed class RedactedUser
    {
        private Entry? _current;

        public Entry For(string? id, string? name, Redactor? idRedactor, Redactor? nameRedactor)
        {
            var current = Volatile.Read(ref _current);
            if (current is not null && ReferenceEquals(current.IdValue, id) && ReferenceEquals(current.NameValue, name))
            {
                return current;
            }

            current = new Entry(id, name, Redact(id, idRedactor), Redact(name, nameRedactor));
            Volatile.Write(ref _current, current);
            return current;
        }

        private static string? Redact(string? value, Redactor? redactor) => value is null || redactor is null ? value : redactor.Redact(value);

        public sealed record Entry(string? IdValue, string? NameValue, string? Id, string? Name);
    }
}
