using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.Runtime.Credentials;

namespace Strata.Aws;

/// <summary>
/// Resolves AWS credentials and region the way every Strata AWS component does: explicit keys first, then a named
/// profile, then the standard AWS chain (environment, shared files, container and instance roles).
/// </summary>
internal static class AwsCredentialSource
{
    public static AWSCredentials Resolve(string? accessKeyId, string? secretAccessKey, string? sessionToken, string? profile)
    {
        var hasKey = !string.IsNullOrWhiteSpace(accessKeyId);
        var hasSecret = !string.IsNullOrWhiteSpace(secretAccessKey);
        if (hasKey != hasSecret)
            throw new StrataConfigException(
                $"Only one of access_key_id and secret_access_key is set; set both (as secret references such as {{{{aws.access_key_id}}}}), or neither to " +
                $"use {(string.IsNullOrWhiteSpace(profile) ? "the standard AWS credential chain" : $"profile '{profile}'")}.");
        if (hasKey)
            return string.IsNullOrWhiteSpace(sessionToken)
                ? new BasicAWSCredentials(accessKeyId, secretAccessKey)
                : new SessionAWSCredentials(accessKeyId, secretAccessKey, sessionToken);
        if (!string.IsNullOrWhiteSpace(profile))
        {
            var chain = new CredentialProfileStoreChain();
            if (!chain.TryGetAWSCredentials(profile, out var credentials))
                throw new StrataConfigException(
                    $"AWS profile '{profile}' was not found or has no usable credentials in the shared config and credentials files (~/.aws/config, " +
                    $"~/.aws/credentials); create it with 'aws configure --profile {profile}', or set access_key_id and secret_access_key.");
            return credentials;
        }
        try
        {
            return DefaultAWSCredentialsIdentityResolver.GetCredentials();
        }
        catch (AmazonClientException e)
        {
            throw new StrataConfigException(
                "No AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, configure a profile (profile=...), or give access_key_id and " +
                "secret_access_key as secret references.", e);
        }
    }

    /// <summary>The explicit region, else the one from the environment or profile, else <paramref name="fallback"/>.</summary>
    public static string ResolveRegion(string? region, string? profile, string fallback = "us-east-1")
    {
        if (!string.IsNullOrWhiteSpace(region)) return region.Trim();
        if (!string.IsNullOrWhiteSpace(profile) && new CredentialProfileStoreChain().TryGetProfile(profile, out var p) && p.Region is not null)
            return p.Region.SystemName;
        try
        {
            return FallbackRegionFactory.GetRegionEndpoint()?.SystemName ?? fallback;
        }
        catch (AmazonClientException)
        {
            return fallback;
        }
    }

    /// <summary>Checks a region name before it goes into a host name or a signature scope.</summary>
    public static string CheckRegion(string region) =>
        System.Text.RegularExpressions.Regex.IsMatch(region, "^[a-z]{2}(-[a-z0-9]+)+-?[0-9]*$")
            ? region
            : throw new StrataConfigException($"'{region}' is not an AWS region name (e.g. us-east-1, eu-west-2).");

    internal static RegionEndpoint Endpoint(string region) => RegionEndpoint.GetBySystemName(region);
}
