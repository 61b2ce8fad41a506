using System.Text;
using Strata.Tests.Support;

namespace Strata.Tests.StepOperators;

/// <summary>The job pieces every file-based operator shares: the log follower, the job directory's files, the slots.</summary>
public sealed class JobPlumbingTests : IDisposable
{
    private readonly TempDirectory _dir = new("strata-jobs");

    public void Dispose() => _dir.Dispose();

    private static void Append(string path, byte[] bytes)
    {
        using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        file.Write(bytes);
    }

    [Fact]
    public void A_character_split_across_two_reads_comes_out_whole()
    {
        var path = _dir.Combine("stdout.log");
        var follower = new LogFileFollower(path);
        var line = Encoding.UTF8.GetBytes("größe ✓ 模型 🚀\n");
        var cut = Array.IndexOf(line, (byte)0xF0) + 2; // inside the four bytes of the rocket

        Append(path, line[..cut]);
        Assert.Empty(follower.ReadNewLines());
        Append(path, line[cut..]);

        Assert.Equal(["größe ✓ 模型 🚀"], follower.ReadNewLines());
    }

    [Fact]
    public void A_last_line_without_its_newline_waits_until_the_job_ends()
    {
        var path = _dir.Combine("stdout.log");
        var follower = new LogFileFollower(path);
        Assert.Empty(follower.ReadNewLines()); // no file yet

        Append(path, Encoding.UTF8.GetBytes("one\r\ntwo\nthr"));
        Assert.Equal(["one", "two"], follower.ReadNewLines());
        Append(path, Encoding.UTF8.GetBytes("ee"));
        Assert.Empty(follower.ReadNewLines());
        Assert.Equal(["three"], follower.ReadNewLines(final: true));
        Assert.Empty(follower.ReadNewLines(final: true));
    }

    [Fact]
    public void A_large_log_arrives_line_for_line()
    {
        var path = _dir.Combine("stdout.log");
        var follower = new LogFileFollower(path);
        var seen = new List<string>();
        var expected = new List<string>();
        // About 10 MB in uneven pieces, each cut at an arbitrary byte, multibyte characters included.
        var text = new StringBuilder();
        for (var i = 0; i < 160_000; i++)
        {
            var line = $"line {i} é✓ {new string('x', i % 97)}";
            expected.Add(line);
            text.Append(line).Append('\n');
        }
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        var random = new Random(7);
        for (var at = 0; at < bytes.Length;)
        {
            var size = Math.Min(bytes.Length - at, random.Next(1, 400_000));
            Append(path, bytes[at..(at + size)]);
            at += size;
            seen.AddRange(follower.ReadNewLines());
        }
        seen.AddRange(follower.ReadNewLines(final: true));

        Assert.True(bytes.Length > 10_000_000, $"the log is {bytes.Length} bytes");
        Assert.Equal(expected.Count, seen.Count);
        Assert.Equal(expected, seen);
    }

    [Fact]
    public async Task A_job_directory_reads_the_exit_code_once_it_is_written_and_knows_a_cancel()
    {
        var files = new JobDirectory(_dir.Combine("job"));
        Assert.Null(files.ReadExitCode()); // no directory yet
        await files.MarkCancelledAsync(); // nothing to mark yet, and no error
        Directory.CreateDirectory(files.Path);

        File.WriteAllText(files.ExitCode, "");
        Assert.True(files.HasExitCodeFile);
        Assert.Null(files.ReadExitCode()); // created, not yet written
        File.WriteAllText(files.ExitCode, "3\n");
        Assert.Equal(3, files.ReadExitCode());

        Assert.False(files.IsCancelled);
        await files.MarkCancelledAsync();
        await files.MarkCancelledAsync();
        Assert.True(files.IsCancelled);

        File.WriteAllText(files.Stderr, "warming up\n\nTraceback: boom\n");
        Assert.Equal($"; stderr ends with:{Environment.NewLine}warming up{Environment.NewLine}Traceback: boom", files.StderrTail());

        files.ClearOutcome();
        Assert.False(files.HasExitCodeFile);
        Assert.False(files.IsCancelled);
        Assert.Equal("", files.StderrTail());
    }

    [Fact]
    public async Task Slots_hold_back_the_job_past_the_limit_and_a_release_twice_frees_one()
    {
        using var slots = new JobSlots(1);
        await slots.WaitAsync("a");
        await slots.WaitAsync("a"); // the same step run holds one slot only
        var b = slots.WaitAsync("b");
        await Task.Delay(50);
        Assert.False(b.IsCompleted, "a second job got past a limit of one");

        slots.Release("a");
        await b.WaitAsync(TimeSpan.FromSeconds(10));
        slots.Release("a"); // cleanup again: nothing more is freed
        var c = slots.WaitAsync("c");
        await Task.Delay(50);
        Assert.False(c.IsCompleted, "releasing a slot twice freed two");
        slots.Release("b");
        await c.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task No_limit_never_waits()
    {
        using var slots = new JobSlots(0);
        Assert.Null(slots.Limit);
        for (var i = 0; i < 100; i++) await slots.WaitAsync($"s{i}").WaitAsync(TimeSpan.FromSeconds(10));
        slots.Release("s0");
        slots.Release("never-taken");
    }
}
