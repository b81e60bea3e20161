// A 24-bit counter driving the five LEDs of an iCEstick (iCE40-HX1K, TQ144 package).
module top (
    input  wire       clk,
    output wire [4:0] led
);
    reg [23:0] count = 24'd0;
    always @(posedge clk)
        count <= count + 24'd1;
    assign led = count[23:19];
endmodule
