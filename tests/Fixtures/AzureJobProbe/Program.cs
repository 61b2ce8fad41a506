using System.Text;
using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;

// AzureJobProbe BLOB_ENDPOINT CONTAINER BLOB TEXT: signs in as DefaultAzureCredential finds it (in an Azure ML job: the compute's
// managed identity), prints the token's audience and issuer, and writes TEXT to the blob with that token.
if (args.Length != 4)
{
    Console.Error.WriteLine("usage: AzureJobProbe BLOB_ENDPOINT CONTAINER BLOB TEXT");
    return 2;
}
var credential = new DefaultAzureCredential();
var token = await credential.GetTokenAsync(new TokenRequestContext(["https://storage.azure.com/.default"]));
var payload = token.Token.Split('.')[1].Replace('-', '+').Replace('_', '/');
var claims = JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(payload + new string('=', (4 - payload.Length % 4) % 4))))!;
Console.WriteLine($"token aud={claims["aud"]} iss={claims["iss"]} oid={claims["oid"]}");
var container = new BlobContainerClient(new Uri($"{args[0].TrimEnd('/')}/{args[1]}"), credential);
await container.CreateIfNotExistsAsync();
await container.GetBlobClient(args[2]).UploadAsync(BinaryData.FromString(args[3]), overwrite: true);
Console.WriteLine($"wrote {args[1]}/{args[2]}");
return 0;
