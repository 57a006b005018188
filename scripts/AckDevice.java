import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A sample HL7 device: listens on a port and answers every MLLP message with an AA ACK. Usage: java AckDevice.java PORT */
public class AckDevice {
    public static void main(String[] args) throws Exception {
        try (ServerSocket server = new ServerSocket(Integer.parseInt(args[0]))) {
            System.out.println("Sample device listening on port " + server.getLocalPort());
            while (true) {
                Socket s = server.accept();
                new Thread(() -> serve(s)).start();
            }
        }
    }

    private static void serve(Socket s) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            ByteArrayOutputStream buf = null;
            int b;
            while ((b = in.read()) >= 0) {
                if (b == 0x0b) {
                    buf = new ByteArrayOutputStream();
                } else if (b == 0x1c && buf != null) {
                    String msg = buf.toString(StandardCharsets.UTF_8);
                    buf = null;
                    String msh = msg.split("[\r\n]")[0];
                    String[] f = msh.split("\\|", -1);
                    String id = f.length > 9 ? f[9] : "";
                    System.out.println("Received " + (f.length > 8 ? f[8] : "?") + " " + id + " from " + s.getRemoteSocketAddress());
                    String ack = "MSH|^~\\&|SAMPLE-DEVICE|LAB|EDGE-AGENT|HOSP|" + System.currentTimeMillis() + "||ACK|" + id + "-ACK|P|2.5\rMSA|AA|" + id + "|Received";
                    out.write(0x0b);
                    out.write(ack.getBytes(StandardCharsets.UTF_8));
                    out.write(new byte[] {0x1c, 0x0d});
                    out.flush();
                } else if (buf != null) {
                    buf.write(b);
                }
            }
        } catch (Exception e) {
            System.out.println("Connection ended: " + e.getMessage());
        }
    }
}
