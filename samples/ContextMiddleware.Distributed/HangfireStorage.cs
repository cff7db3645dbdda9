using Hangfire;
using Hangfire.PostgreSql;

namespace ContextMiddleware.Distributed;

/// <summary>Hangfire on PostgreSQL with the request context, as the API (a client) and the jobs process (a server) share it.</summary>
internal static class HangfireStorage
{
    public static void Add(IServiceCollection services, DistributedSettings settings) =>
        services.AddHangfire((provider, configuration) => configuration
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UsePostgreSqlStorage(
                options => options.UseNpgsqlConnection(settings.PostgreSql),
                new PostgreSqlStorageOptions
                {
                    SchemaName = settings.HangfireSchema,
                    PrepareSchemaIfNecessary = true,
                    QueuePollInterval = TimeSpan.FromMilliseconds(200),
                })
            .UseRequestContext(provider));   // ContextMiddleware.Hangfire: jobs run in the context that created them
}
